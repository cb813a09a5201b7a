"""Durable embedded storage: with Tansu's s3:// engine on a loopback S3 server, a broker restart keeps topics,
records and committed offsets, and a running clean worker carries on without being restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.e2e.conftest import Pipeline, decode
from workers.broker import EmbeddedBroker
from workers.kafka import ensure_topics
from workers.settings import load_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def durable_pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    with EmbeddedBroker(log_path=tmp_path / "broker.log", storage="s3") as broker:
        env = {"WIRESTREAM_BROKER": broker.url, "WIRESTREAM_DATA_DIR": str(tmp_path / "state")}
        settings = load_settings(broker=broker.url)
        asyncio.run(ensure_topics(settings))
        pipe = Pipeline(broker=broker, settings=settings, env=env, logs=tmp_path)
        try:
            yield pipe
        finally:
            pipe.stop_all()


def _articles(start: int, count: int) -> list[tuple[bytes | None, bytes]]:
    return [
        (f"a{i}".encode(), orjson.dumps({"id": f"a{i}", "content": f"Harbour story number {i}.\nIt is short."}))
        for i in range(start, start + count)
    ]


def test_topics_and_offsets_survive_a_broker_restart(durable_pipeline: Pipeline) -> None:
    pipe, settings = durable_pipeline, durable_pipeline.settings
    asyncio.run(pipe.produce(_articles(0, 20)))
    pipe.start("clean")
    first = asyncio.run(pipe.collect([settings.topic_clean], lambda g: len(g[settings.topic_clean]) >= 20))
    assert {decode(r)["id"] for r in first[settings.topic_clean]} == {f"a{i}" for i in range(20)}

    pipe.broker.restart()

    asyncio.run(pipe.produce(_articles(20, 5)))
    after = asyncio.run(pipe.collect([settings.topic_clean], lambda g: len(g[settings.topic_clean]) >= 25))
    ids = [decode(r)["id"] for r in after[settings.topic_clean]]
    assert set(ids) == {f"a{i}" for i in range(25)}, "old records kept, new ones cleaned by the same worker"
    assert len(ids) == 25, f"committed offsets survived too: nothing re-cleaned ({len(ids)} records)"
    assert pipe.stop_all() == {"clean": 0}
