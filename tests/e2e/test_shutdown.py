"""SIGTERM while records flow: the worker finishes its in-flight batch, commits, exits 0 within 10 s, and after a
restart nothing is missing (and, because it committed what it finished, nothing is processed twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from tests.e2e.conftest import Pipeline
from tests.e2e.test_crash import LogWatch, synthetic_article, wait_ready
from workers.kafka import client_kwargs, make_producer
from workers.supervisor import log_tail

pytestmark = pytest.mark.e2e

log = logging.getLogger(__name__)

ARTICLES = 160
GRACE_S = 10.0
IN_FLIGHT = 40  # articles produced ahead of those enriched before the SIGTERM


async def sigterm_run(pipeline: Pipeline, victim: str, run: str) -> tuple[Counter[str], float, int, int]:
    """Stream articles, SIGTERM ``victim`` mid-stream, restart it; return (enriched ids, exit seconds, code, at)."""
    settings = pipeline.settings
    watches = {name: LogWatch(pipeline.logs / f"{name}.log") for name in ("clean", "tag")}
    for name in ("clean", "tag"):
        pipeline.start(name)
    for name in ("clean", "tag"):
        await wait_ready(pipeline, name, watches[name])
    consumer = AIOKafkaConsumer(settings.topic_enriched, **client_kwargs(settings), auto_offset_reset="earliest")
    await consumer.start()
    enriched: Counter[str] = Counter()
    produced = 0
    signalled, progressed = asyncio.Event(), asyncio.Event()

    async def produce() -> None:
        nonlocal produced
        producer = make_producer(settings)
        await producer.start()
        try:
            for start in range(0, ARTICLES, 8):
                # Keep the stream going until the SIGTERM, however slow the machine: at most ~5 batches ahead.
                while not signalled.is_set() and start - len(enriched) > IN_FLIGHT:
                    progressed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(progressed.wait(), 0.5)
                futures = [
                    await producer.send(settings.topic_raw, value, key=key)
                    for key, value in map(lambda i: synthetic_article(i, run), range(start, min(start + 8, ARTICLES)))
                ]
                await asyncio.gather(*futures)
                produced = min(start + 8, ARTICLES)
                await asyncio.sleep(0.25)
        finally:
            await producer.stop()

    async def drain() -> None:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for record in records:
                enriched[record.key.decode()] += 1
        progressed.set()

    task = asyncio.create_task(produce())
    try:
        deadline = time.monotonic() + 120
        # SIGTERM once the victim is busy: a third of the articles through, the stream still going.
        while len(enriched) < ARTICLES // 3:
            await drain()
            pipeline.assert_alive()
            assert time.monotonic() < deadline, f"stream did not start: {len(enriched)} enriched"
        at = produced
        proc = pipeline.workers.pop(victim)
        proc.send_signal(signal.SIGTERM)
        signalled.set()
        sent = time.monotonic()
        while proc.poll() is None and time.monotonic() - sent < GRACE_S + 20:
            await drain()
        exit_s = time.monotonic() - sent
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError(f"{victim} ignored SIGTERM for {exit_s:.0f}s:\n{log_tail(watches[victim].path)}")
        code = int(proc.returncode)
        watches[victim] = LogWatch(watches[victim].path)
        pipeline.start(victim)
        expected = {f"{run}-{i:06d}" for i in range(ARTICLES)}
        deadline = time.monotonic() + 180
        while not expected <= set(enriched) and time.monotonic() < deadline:
            await drain()
            pipeline.assert_alive()
        quiet = time.monotonic()
        while time.monotonic() - quiet < 3.0:  # late duplicates
            before = sum(enriched.values())
            await drain()
            if sum(enriched.values()) != before:
                quiet = time.monotonic()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
    return enriched, exit_s, code, at


@pytest.mark.parametrize("victim", ["clean", "tag"])
def test_sigterm_mid_stream_exits_0_within_10s_and_loses_nothing(
    pipeline: Pipeline, victim: str, record_property: Any
) -> None:
    run = f"term-{victim}"
    log_path = pipeline.logs / f"{victim}.log"
    enriched, exit_s, code, at = asyncio.run(sigterm_run(pipeline, victim, run))
    missing = {f"{run}-{i:06d}" for i in range(ARTICLES)} - set(enriched)
    duplicates = sum(n - 1 for n in enriched.values() if n > 1)
    summary = (
        f"SIGTERM {victim} after {at} of {ARTICLES} produced: exit code {code} in {exit_s:.1f}s; "
        f"{ARTICLES - len(missing)} arrived, {len(missing)} lost, {duplicates} duplicates"
    )
    log.warning("%s", summary)
    record_property("sigterm_summary", summary)
    assert code == 0, f"{summary}\n{log_tail(log_path)}"
    assert exit_s <= GRACE_S, f"{summary}\n{log_tail(log_path)}"
    assert not missing, f"{summary}; missing {sorted(missing)[:20]}"
    assert at < ARTICLES, f"the stream had ended before SIGTERM: {summary}"
