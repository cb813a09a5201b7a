"""Broker outages: an unreachable broker at start (retry with growing delays, low CPU, clear log, never exit 0),
and a restart of the embedded broker under running workers (topics lost: recreated, stream resumes)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from tests.e2e.conftest import Pipeline
from tests.e2e.test_crash import LogWatch, synthetic_article, wait_ready
from workers.broker import EmbeddedBroker, free_port
from workers.kafka import client_kwargs, committed_offsets, make_producer, pipeline_topics
from workers.runner import TOPIC_CHECK_INTERVAL_S
from workers.supervisor import log_tail, start_worker, stop_process

pytestmark = pytest.mark.e2e

RETRY_RE = re.compile(r"not reachable yet .*; retrying in ([0-9.]+)s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime, stime in clock ticks (USER_HZ = 100)


def wait_for_log(
    path: Path, count: int, pattern: re.Pattern[str], proc: subprocess.Popen[bytes], timeout: float
) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.findall(log_tail(path, 1_000_000))
        if len(found) >= count:
            return list(found)
        if proc.poll() is not None:
            raise AssertionError(f"worker exited {proc.returncode} while retrying:\n{log_tail(path)}")
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} retry lines after {timeout:.0f}s:\n{log_tail(path)}")


def test_unreachable_broker_at_start_retries_with_backoff_then_recovers(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "clean.log"
    env = {"WIRESTREAM_BROKER": f"kafka://127.0.0.1:{port}", "WIRESTREAM_DATA_DIR": str(tmp_path / "state")}
    proc = start_worker("clean", env, log_path)
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "broker.log")
    try:
        first = wait_for_log(log_path, 1, RETRY_RE, proc, timeout=60)
        cpu_start, wall_start = cpu_seconds(proc.pid), time.monotonic()
        delays = [float(d) for d in wait_for_log(log_path, 5, RETRY_RE, proc, timeout=60)]
        cpu = cpu_seconds(proc.pid) - cpu_start
        wall = time.monotonic() - wall_start
        assert first, "the first retry is logged"
        assert delays == sorted(delays) and delays[-1] > delays[0] * 4, f"no backoff: {delays}"
        assert cpu < 0.25 * wall + 0.5, f"busy loop while waiting: {cpu:.2f}s CPU in {wall:.1f}s"
        assert f"127.0.0.1:{port}" in log_tail(log_path), "the log names the broker it cannot reach"
        assert proc.poll() is None, "still retrying, not exited"
        # The broker comes up: the same worker process creates the topics and joins its group.
        broker.start()
        watch = LogWatch(log_path)
        watch.start = 0
        deadline = time.monotonic() + 90
        while not watch.ready():
            assert proc.poll() is None, f"worker exited {proc.returncode}:\n{log_tail(log_path)}"
            assert time.monotonic() < deadline, f"not ready after the broker came up:\n{log_tail(log_path)}"
            time.sleep(0.2)
        assert stop_process(proc) == 0
    finally:
        stop_process(proc, grace=5)
        broker.stop(grace=1)


def test_topics_command_gives_up_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    """The start-up path's give-up (same ``ensure_topics`` as a worker's start, shorter timeout): exit 1, not 0."""
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "topics", "--timeout", "3"],
        env={"WIRESTREAM_BROKER": f"kafka://127.0.0.1:{port}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    err = result.stderr.decode()
    assert result.returncode == 1, (result.returncode, err[-2000:])
    assert f"broker kafka://127.0.0.1:{port} unreachable" in err, err[-2000:]


async def _topic_partitions(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
        described = await admin.describe_topics(names) if names else []
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()


async def _produce(pipeline: Pipeline, start: int, count: int, run: str) -> None:
    producer = make_producer(pipeline.settings)
    await producer.start()
    try:
        futures = []
        for i in range(start, start + count):
            key, value = synthetic_article(i, run)
            futures.append(await producer.send(pipeline.settings.topic_raw, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def test_broker_restart_loses_topics_and_workers_recreate_them_and_resume(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    run = "outage"
    watches = {name: LogWatch(pipeline.logs / f"{name}.log") for name in ("clean", "tag")}
    for name in ("clean", "tag"):
        pipeline.start(name)
    for name in ("clean", "tag"):
        asyncio.run(wait_ready(pipeline, name, watches[name]))
    asyncio.run(_produce(pipeline, 0, 20, run))
    got = asyncio.run(pipeline.collect([settings.topic_enriched], lambda g: len(g[settings.topic_enriched]) >= 20))
    assert len(got[settings.topic_enriched]) >= 20

    # Wait until both groups committed those 20 and each worker's watchdog has had two checks to see the commits
    # (it detects a broker that lost its state by committed offsets going back; topics vanishing alone only tells
    # the first worker to look, which recreates them).
    deadline = time.monotonic() + 60
    while True:
        raw = asyncio.run(committed_offsets(settings, f"{settings.app_id}-clean", [settings.topic_raw]))
        clean = asyncio.run(committed_offsets(settings, f"{settings.app_id}-tag", [settings.topic_clean]))
        if sum(raw.values()) >= 20 and sum(clean.values()) >= 20:
            break
        assert time.monotonic() < deadline, f"offsets not committed: {raw} {clean}"
        time.sleep(0.2)
    time.sleep(2 * TOPIC_CHECK_INTERVAL_S + 0.5)

    # Restart the broker on the same port: in-memory storage, so every topic and committed offset is gone.
    pipeline.broker.stop(grace=0.5)
    time.sleep(1.0)
    pipeline.broker.start()
    restarted = time.monotonic()
    # (No check that the topics are gone here: a watchdog may already have recreated them.)

    # The workers notice: they recreate the pipeline topics with the configured partitions and exit non-zero so
    # that a supervisor (here: this test) restarts them with fresh offsets. Exiting 0 or hanging fails.
    restarts = {"clean": 0, "tag": 0}
    deadline = restarted + 60
    while True:
        _restart_exited(pipeline, watches, restarts)
        partitions = asyncio.run(_topic_partitions(pipeline.broker.bootstrap))
        if all(partitions.get(t) == settings.partitions for t in pipeline_topics(settings)):
            break
        assert time.monotonic() < deadline, f"topics not recreated after 60s: {partitions}"
        time.sleep(0.5)
    recreated_after = time.monotonic() - restarted
    while sum(restarts.values()) < 2 and time.monotonic() < deadline:  # both notice, within the deadline
        _restart_exited(pipeline, watches, restarts)
        time.sleep(0.2)
    assert restarts == {"clean": 1, "tag": 1}, f"each worker exits once to restart with fresh state: {restarts}"
    logs = "".join(log_tail(w.path, 1_000_000) for w in watches.values())
    assert "are missing on broker" in logs and "exiting 75" in logs, "the reason is logged clearly"
    for name in ("clean", "tag"):
        asyncio.run(wait_ready(pipeline, name, watches[name]))

    # New articles flow end to end again. A worker may instead exit non-zero (then, as a supervisor would, we
    # restart it); it must never exit 0 or hang.
    asyncio.run(_produce(pipeline, 100, 20, run))
    expected = {f"{run}-{i:06d}".encode() for i in range(100, 120)}
    asyncio.run(_collect_supervised(pipeline, watches, expected, restarts, timeout=150))
    assert recreated_after < 60
    assert restarts == {"clean": 1, "tag": 1}, f"no further restarts once recovered: {restarts}"
    assert pipeline.stop_all() == {"clean": 0, "tag": 0}


def _restart_exited(pipeline: Pipeline, watches: dict[str, LogWatch], restarts: dict[str, int]) -> None:
    """Act as a supervisor: restart a worker that exited non-zero; fail on an exit 0."""
    for name, proc in list(pipeline.workers.items()):
        if proc.poll() is not None:
            text = log_tail(watches[name].path)
            assert proc.returncode != 0, f"{name} exited 0 after losing its broker:\n{text}"
            restarts[name] += 1
            watches[name] = LogWatch(watches[name].path)
            pipeline.start(name)


async def _collect_supervised(
    pipeline: Pipeline, watches: dict[str, LogWatch], expected: set[bytes], restarts: dict[str, int], timeout: float
) -> None:
    """Read articles.enriched until ``expected`` keys arrived, restarting any worker that exits non-zero."""
    settings = pipeline.settings
    consumer = AIOKafkaConsumer(settings.topic_enriched, **client_kwargs(settings), auto_offset_reset="earliest")
    await consumer.start()
    seen: set[bytes] = set()
    deadline = time.monotonic() + timeout
    try:
        while not expected <= seen:
            _restart_exited(pipeline, watches, restarts)
            assert time.monotonic() < deadline, f"{len(expected - seen)} of {len(expected)} missing; {restarts}"
            for records in (await consumer.getmany(timeout_ms=300)).values():
                seen.update(r.key for r in records)
    finally:
        await consumer.stop()


def test_watchdog_exits_when_committed_offsets_go_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second detection path, without a broker: offsets that only grow are fine; a regression (or vanished
    offsets) means the broker lost its state, and the worker exits 75; an unreachable broker counts failures."""
    from workers import runner
    from workers.errors import TransientError
    from workers.settings import load_settings

    settings = load_settings()
    answers: list[dict[tuple[str, int], int] | Exception] = [
        {("articles.raw", 0): 5},
        {("articles.raw", 0): 9, ("articles.raw", 1): 2},
        TransientError("offsets unreadable"),  # logged, not counted as the broker being down
        {("articles.raw", 1): 2},  # partition 0's offset vanished
    ]
    exits: list[int] = []

    async def topics(_: object) -> set[str]:
        return set(pipeline_topics(settings))

    async def offsets(_: object, group: str, topics: object) -> dict[tuple[str, int], int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(runner, "existing_topics", topics)
    monkeypatch.setattr(runner, "committed_offsets", offsets)
    monkeypatch.setattr(runner.os, "_exit", fake_exit)
    monkeypatch.setattr(runner.logging, "shutdown", lambda: None)
    watchdog = runner.TopicWatchdog(settings, "clean", "wirestream-clean")
    asyncio.run(watchdog.check())
    asyncio.run(watchdog.check())
    asyncio.run(watchdog.check())
    assert exits == [] and watchdog.failures == 0
    with pytest.raises(SystemExit):
        asyncio.run(watchdog.check())
    assert exits == [runner.EXIT_BROKER_LOST]
