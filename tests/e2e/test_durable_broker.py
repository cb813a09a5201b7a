"""Durable embedded storage: with Tansu's s3:// engine on a loopback S3 server, a broker restart keeps topics,
records and committed offsets, and a running clean worker carries on without being restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.e2e.conftest import Pipeline, decode, running_pipeline
from workers.kafka import ensure_topics
from workers.settings import load_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def durable_pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    with running_pipeline(tmp_path, storage="s3") as pipe:
        yield pipe


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


def test_broker_command_restarts_a_killed_tansu_and_keeps_topics(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from workers.bench import child_pids
    from workers.broker import free_port, wait_for_port
    from workers.kafka import consume_records, make_producer

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "broker", "--port", str(port), "--storage", "s3"],
        stdout=subprocess.PIPE, stderr=open(tmp_path / "cli.log", "wb"), env=dict(os.environ),  # noqa: SIM115
    )
    try:
        assert proc.stdout is not None
        assert b"WIRESTREAM_BROKER" in proc.stdout.readline()
        settings = load_settings(broker=f"kafka://127.0.0.1:{port}")
        asyncio.run(ensure_topics(settings))

        async def send() -> None:
            producer = make_producer(settings)
            await producer.start()
            await producer.send_and_wait(settings.topic_raw, b"kept across a crash", key=b"k")
            await producer.stop()

        async def read() -> list[bytes | None]:
            return [r.value async for r in consume_records(settings, settings.topic_raw, idle_timeout=3.0)]

        asyncio.run(send())
        (tansu,) = [pid for pid in child_pids(proc.pid) if "tansu" in Path(f"/proc/{pid}/cmdline").read_text()]
        os.kill(tansu, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while tansu in child_pids(proc.pid) or not wait_for_port("127.0.0.1", port, 0.5):
            assert time.monotonic() < deadline, "the broker command did not restart Tansu"
            assert proc.poll() is None, (tmp_path / "cli.log").read_text()
        assert asyncio.run(read()) == [b"kept across a crash"]
        assert "restarting it on the same port" in (tmp_path / "cli.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
