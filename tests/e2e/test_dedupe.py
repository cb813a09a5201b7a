"""Dedupe: an article already tagged with the same content is skipped, also after a kill -9 of the tag worker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Pipeline, decode
from workers.bench import clean_records
from workers.kafka import committed_offsets

pytestmark = pytest.mark.e2e

PARAGRAPHS = [
    "Fumio Kishida met Joe Biden in Washington on Tuesday to discuss trade.",
    "The European Commission said the agreement would be signed in Brussels.",
    "Angela Merkel visited Paris and Lyon with officials from the United Nations.",
]


def encoded(records: list[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(str(r["id"]).encode(), orjson.dumps(r)) for r in records]


def wait_committed(pipeline: Pipeline, total: int, timeout: float = 120.0) -> None:
    """Wait until the tag group has committed every one of the ``total`` records sent to articles.clean."""
    settings = pipeline.settings
    deadline = time.monotonic() + timeout
    done = 0
    while done < total:
        pipeline.assert_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"the tag group committed {done} of {total} records in {timeout:.0f}s")
        offsets = asyncio.run(committed_offsets(settings, f"{settings.app_id}-tag", [settings.topic_clean]))
        done = sum(offsets.values())
        time.sleep(0.3)


def settled(enriched: int, dlq: int, quiet_s: float = 3.0) -> Callable[[dict[str, list[Any]]], bool]:
    """A ``collect`` condition: at least the expected records arrived and nothing new for ``quiet_s``."""
    last: dict[str, Any] = {"count": -1, "at": time.monotonic()}

    def done(got: dict[str, list[Any]]) -> bool:
        counts = [len(v) for v in got.values()]
        if sum(counts) != last["count"]:
            last.update(count=sum(counts), at=time.monotonic())
        values = list(got.values())
        enough = len(values[0]) >= enriched and len(values[1]) >= dlq
        return enough and time.monotonic() - last["at"] > quiet_s

    return done


def test_duplicates_are_skipped_across_a_kill(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    records = clean_records(6, PARAGRAPHS, 2, "dedupe")
    invalid = {"schema_version": 1, "id": "dedupe-bad", "body": "not a list"}
    # Published twice in a row (the second copy may land in the same batch), plus a record that dead-letters.
    first = encoded(records) + encoded(records[:2]) + encoded([invalid])
    asyncio.run(pipeline.produce(first, topic=settings.topic_clean))
    pipeline.start("tag")
    wait_committed(pipeline, len(first))

    # Crash (no graceful shutdown), restart: the memory must come back from the table's changelog.
    proc = pipeline.workers.pop("tag")
    proc.kill()
    proc.wait(timeout=10)
    pipeline.start("tag", name="tag-restarted")
    changed = dict(records[3], body=[*records[3]["body"], "A correction was added later."])
    second = encoded(records[:3]) + encoded([changed]) + encoded([invalid]) + encoded(clean_records(1, PARAGRAPHS, 1,
                                                                                                     "fresh"))
    asyncio.run(pipeline.produce(second, topic=settings.topic_clean))
    wait_committed(pipeline, len(first) + len(second))

    # Every output was acknowledged before its offset was committed: read them all, and then some more seconds
    # so that an unexpected extra record would be seen too.
    got = asyncio.run(pipeline.collect([settings.topic_enriched, settings.topic_dlq], settled(8, 2)))
    enriched = Counter(decode(r)["id"] for r in got[settings.topic_enriched])
    want = Counter({r["id"]: 1 for r in records})
    want["dedupe-3"] += 1  # its content changed: tagged again
    want["fresh-0"] = 1
    assert enriched == want, f"enriched records per id: {dict(enriched)}"
    bodies = [decode(r)["body"] for r in got[settings.topic_enriched] if decode(r)["id"] == "dedupe-3"]
    assert bodies[-1][-1] == "A correction was added later."
    # Dead-lettered records are not remembered: the same bad record dead-letters again (so a replay after a fix
    # would be processed). A dead letter may be written twice for one input (at least once after the kill).
    dead = {(decode(r)["source"]["partition"], decode(r)["source"]["offset"]) for r in got[settings.topic_dlq]}
    assert len(dead) == 2, f"dead letters for {sorted(dead)}"
    # 2 before the kill, 3 after it (more if the restarted worker re-reads records from before its first commit).
    before = (pipeline.logs / "tag.log").read_text().count("skipping a duplicate")
    after = (pipeline.logs / "tag-restarted.log").read_text().count("skipping a duplicate")
    assert before >= 2 and after >= 3, (before, after)
    assert pipeline.stop_all() == {"tag-restarted": 0}
