"""Learned boilerplate survives a clean-worker crash: the GlobalTable is rebuilt from its changelog."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.agents.test_learned_agent import BANNER, ONCE, SOURCE, final_story, story
from tests.e2e.conftest import Pipeline, decode
from workers.cleaning.agent import partition_of
from workers.cleaning.learned import decode_state, fingerprint
from workers.kafka import client_kwargs

pytestmark = pytest.mark.e2e

#: K = 20: the 21st article loses the banner only if all 20 observations were recovered, so a changelog
#: recovery that stops short (Tansu's end offsets for multi-record batches) fails this test.
K = 20
CHANGELOG = "wirestream-clean-learned-boilerplate-changelog"


def raw(n: int, content: str) -> tuple[bytes, bytes]:
    envelope = {"id": f"gazette-{n}", "source": SOURCE, "url": f"https://gazette.example/{n}",
                "content_type": "text/plain", "content": content}
    return f"gazette-{n}".encode(), orjson.dumps(envelope)


async def learned_count(pipeline: Pipeline, key: bytes, want: float, timeout: float = 60.0) -> dict[str, Any]:
    """Read the table's changelog until the latest value of ``key`` counts the banner ``want`` times."""
    consumer = AIOKafkaConsumer(CHANGELOG, **client_kwargs(pipeline.settings), auto_offset_reset="earliest")
    await consumer.start()
    latest: dict[str, Any] = {"count": 0.0, "records": 0}
    deadline = time.monotonic() + timeout
    try:
        while latest["count"] < want:
            pipeline.assert_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"changelog never counted the banner {want} times: {latest}")
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    if r.key == key:
                        latest["records"] += 1
                        latest["count"] = decode_state(r.value).counts.get(fingerprint(BANNER), 0.0)
    finally:
        await consumer.stop()
    return latest


def companions(n: int) -> list[str]:
    """Other sources whose table entries share the gazette's changelog partition (same murmur2 partition)."""
    home = partition_of(SOURCE.lower().encode(), 4)
    names = (f"companion {chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(26))
    return [name for name in names if partition_of(name.encode(), 4) == home][:n]


async def changelog_offsets(pipeline: Pipeline) -> tuple[dict[int, int], dict[int, int]]:
    """Per changelog partition: the end offset the broker reports, and how many records a consumer reads."""
    consumer = AIOKafkaConsumer(CHANGELOG, **client_kwargs(pipeline.settings), auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(CHANGELOG, p) for p in range(pipeline.settings.partitions)]
        read = {tp.partition: 0 for tp in tps}
        idle = time.monotonic()
        while time.monotonic() - idle < 3:  # until the learn agent has written everything
            for records in (await consumer.getmany(timeout_ms=300)).values():
                idle = time.monotonic()
                for r in records:
                    read[r.partition] = max(read[r.partition], r.offset + 1)
        ends = {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()
    return ends, read


def test_learned_boilerplate_survives_a_worker_kill(pipeline: Pipeline) -> None:
    pipeline.env["WIRESTREAM_LEARNED_MIN_ARTICLES"] = str(K)
    # A long linger packs table writes that follow each other into one produce batch, as on a busy worker; the
    # companion sources make every clean batch teach several sources of one changelog partition at once.
    pipeline.env["WIRESTREAM_PRODUCER_LINGER_MS"] = "100"
    settings = pipeline.settings
    others = companions(3)
    values = []
    for n in range(20):
        other = others[n % len(others)]
        envelope = {"id": f"other-{n}", "source": other, "content_type": "text/plain", "content": story(n)}
        values += [(f"other-{n}".encode(), orjson.dumps(envelope)), raw(n, story(n))]
    asyncio.run(pipeline.produce(values))
    pipeline.start("clean")
    first = asyncio.run(pipeline.collect([settings.topic_clean], lambda g: len(g[settings.topic_clean]) >= 40))
    bodies = {decode(r)["id"]: decode(r)["body"] for r in first[settings.topic_clean]}
    assert sum(BANNER in bodies[f"gazette-{n}"] for n in range(20)) >= 19, "no rule knows the banner"
    written = asyncio.run(learned_count(pipeline, SOURCE.lower().encode(), K))
    assert written["records"] >= 2, "the table was written several times (once per batch)"
    # What Faust's recovery relies on: the end offset the broker reports covers every changelog record. Tansu
    # gets it wrong when a produce batch holds several records (WIRESTREAM_LEARNED_SINGLE_RECORD_BATCHES).
    ends, read = asyncio.run(changelog_offsets(pipeline))
    assert ends == read, f"end offsets {ends} but records up to {read}: recovery would stop short"

    # Crash (SIGKILL: no graceful shutdown), restart, then the 21st article.
    proc = pipeline.workers.pop("clean")
    proc.kill()
    proc.wait(timeout=10)
    pipeline.start("clean", name="clean-restarted")
    asyncio.run(pipeline.produce([raw(21, final_story())]))
    got = asyncio.run(
        pipeline.collect(
            [settings.topic_clean],
            lambda g: any(decode(r)["id"] == "gazette-21" for r in g[settings.topic_clean]),
        )
    )
    last = next(decode(r) for r in got[settings.topic_clean] if decode(r)["id"] == "gazette-21")
    assert BANNER not in last["body"], "the learned counts came back from the changelog"
    assert ONCE in last["body"]
    assert last["stats"]["learned_removed"] == 1
    assert pipeline.stop_all() == {"clean-restarted": 0}
