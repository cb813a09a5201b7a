"""A batch of long articles keeps the tag worker in its group: spaCy runs off the event loop, so heartbeats go on
while it works for much longer than the session timeout."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.conftest import SEEDS
from tests.e2e.conftest import Pipeline, decode
from workers.records import dumps

pytestmark = pytest.mark.e2e


def _long_clean_record(index: int, paragraphs: list[str], words: int) -> dict[str, object]:
    body: list[str] = []
    while sum(len(p.split()) for p in body) < words:
        body.append(paragraphs[len(body) % len(paragraphs)])
    return {
        "schema_version": 1, "id": f"long-{index}", "url": None, "source": "test", "content_type": "text/plain",
        "language": "en", "title": "A very long report", "standfirst": None, "authors": [], "published_at": None,
        "fetched_at": None, "body": body, "flags": [], "cleaned_at": "2024-01-01T00:00:00Z",
        "stats": {"chars_in": 0, "chars_out": 0, "lines_in": 0, "lines_removed": 0},
    }


def test_long_batch_does_not_cause_a_rebalance(pipeline: Pipeline) -> None:
    paragraphs = [p for f in sorted(SEEDS.glob("0[1-5]-*.expected.json")) for p in json.loads(f.read_text())["body"]]
    records = [_long_clean_record(i, paragraphs, 12_000) for i in range(8)]  # ~96k words: ~8 s of spaCy
    session_timeout = 3.0
    pipeline.env.update({
        "WIRESTREAM_SESSION_TIMEOUT_S": str(session_timeout),
        "WIRESTREAM_HEARTBEAT_INTERVAL_S": "0.5",
        "WIRESTREAM_BATCH_SIZE": "8",
        "WIRESTREAM_BATCH_WINDOW_S": "1.0",
    })
    pipeline.start("tag")
    settings = pipeline.settings
    started = time.monotonic()
    asyncio.run(pipeline.produce([(str(r["id"]).encode(), dumps(r)) for r in records], topic=settings.topic_clean))
    got = asyncio.run(
        pipeline.collect([settings.topic_enriched], lambda g: len(g[settings.topic_enriched]) >= len(records))
    )
    elapsed = time.monotonic() - started
    assert sorted(decode(r)["id"] for r in got[settings.topic_enriched]) == sorted(str(r["id"]) for r in records)
    log = (pipeline.logs / "tag.log").read_text()
    assert "waited" in log, "the batch was processed"
    assert elapsed > session_timeout, "the test must keep spaCy busy for longer than the session timeout"
    # One join at start; a starved heartbeat would have made the group rebalance and the worker rejoin.
    assert log.count("worker ready") == 1, log[-3000:]
    assert pipeline.stop_all() == {"tag": 0}
