"""End-to-end fixtures: the embedded Tansu broker and real worker processes, always cleaned up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from workers.broker import EmbeddedBroker
from workers.kafka import client_kwargs, ensure_topics, make_producer
from workers.settings import Settings, load_settings
from workers.supervisor import log_tail, start_worker, stop_process


@dataclass
class Pipeline:
    """A running broker plus worker processes, and the settings that reach them."""

    broker: EmbeddedBroker
    settings: Settings
    env: dict[str, str]
    logs: Path
    workers: dict[str, Popen[bytes]] = field(default_factory=dict)

    def start(self, stage: str, name: str | None = None) -> Popen[bytes]:
        name = name or stage
        proc = start_worker(stage, self.env, self.logs / f"{name}.log")
        self.workers[name] = proc
        return proc

    def assert_alive(self) -> None:
        for name, proc in self.workers.items():
            if proc.poll() is not None:
                raise AssertionError(f"worker {name} died ({proc.returncode}):\n{log_tail(self.logs / f'{name}.log')}")

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every running worker (SIGKILL after a grace period); forget them; return exit codes."""
        codes = {name: stop_process(proc) for name, proc in self.workers.items()}
        self.workers.clear()
        return codes

    async def produce(self, values: list[tuple[bytes | None, bytes]], topic: str | None = None) -> None:
        producer = make_producer(self.settings)
        await producer.start()
        try:
            futures = [await producer.send(topic or self.settings.topic_raw, v, key=k) for k, v in values]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    async def collect(
        self,
        topics: list[str],
        done: Callable[[dict[str, list[Any]]], bool],
        timeout: float = 180.0,
    ) -> dict[str, list[Any]]:
        """Read ``topics`` from the beginning until ``done(records_by_topic)`` or fail after ``timeout``."""
        consumer = AIOKafkaConsumer(*topics, **client_kwargs(self.settings), auto_offset_reset="earliest")
        await consumer.start()
        got: dict[str, list[Any]] = {t: [] for t in topics}
        deadline = time.monotonic() + timeout
        try:
            while not done(got):
                self.assert_alive()
                if time.monotonic() > deadline:
                    counts = {t: len(v) for t, v in got.items()}
                    tails = "".join(
                        f"\n--- {name} log:\n{log_tail(self.logs / f'{name}.log')}" for name in self.workers
                    )
                    raise AssertionError(f"timed out after {timeout:.0f}s; got {counts}{tails}")
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    for r in records:
                        got[r.topic].append(r)
        finally:
            await consumer.stop()
        return got


def decode(record: Any) -> dict[str, Any]:
    """The JSON value of a consumer record."""
    value: dict[str, Any] = orjson.loads(record.value)
    return value


@contextlib.contextmanager
def running_pipeline(tmp_path: Path, storage: str = "memory") -> Iterator[Pipeline]:
    """A fresh embedded broker (``storage`` memory or s3) with the pipeline topics; the test starts workers."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log", storage=storage) as broker:
        env = {
            "WIRESTREAM_BROKER": broker.url,
            "WIRESTREAM_DATA_DIR": str(tmp_path / "state"),
            "WIRESTREAM_MAX_CONTENT_BYTES": "200000",
            "WIRESTREAM_BATCH_SIZE": "8",
            "WIRESTREAM_BATCH_WINDOW_S": "0.3",
            # Faust's own account of joins, recoveries and seeks, for the log tails in failure messages.
            "WIRESTREAM_LIBRARY_LOG_LEVEL": "INFO",
        }
        settings = load_settings(broker=broker.url, max_content_bytes=200_000)
        asyncio.run(ensure_topics(settings))
        pipe = Pipeline(broker=broker, settings=settings, env=env, logs=tmp_path)
        try:
            yield pipe
        finally:
            pipe.stop_all()


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    """A fresh in-memory embedded broker with the pipeline topics; workers are started by the test."""
    with running_pipeline(tmp_path) as pipe:
        yield pipe
