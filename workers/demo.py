"""``wirestream demo``: an embedded broker, both workers as real processes, the seeds through them."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from subprocess import Popen
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from workers.broker import EmbeddedBroker
from workers.errors import WirestreamError
from workers.kafka import client_kwargs, ensure_topics, make_producer
from workers.settings import Settings
from workers.sources import read_sources
from workers.supervisor import log_tail, start_worker, stop_process

log = logging.getLogger(__name__)

#: A record the demo sends on purpose to show the dead-letter path: it claims to be JSON but is cut short.
MALFORMED_VALUE = b'{"id": "broken-1", "content_type": "text/plain", "content": "cut sho'


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def describe_enriched(record: dict[str, Any]) -> list[str]:
    """A compact, readable rendering of one enriched record."""
    stats = record["stats"]
    head = f"── {record['id']}  [{record.get('language') or '??'}]  {record.get('published_at') or 'no date'}"
    lines = [head, f"   {record.get('title') or '(no title)'}"]
    standfirst = record.get("standfirst")
    if standfirst:
        lines.append(f"   » {standfirst[:150]}{'…' if len(standfirst) > 150 else ''}")
    authors = ", ".join(record.get("authors") or []) or "no byline"
    lines.append(
        f"   by {authors} · {len(record['body'])} paragraphs · {stats['chars_in']:,} → {stats['chars_out']:,} chars"
        f" · {stats['lines_removed']} boilerplate lines removed"
    )
    by_label: dict[str, list[str]] = {}
    for entity in record["entities"]:
        by_label.setdefault(entity["label"], []).append(f"{entity['name']} ×{entity['count']}")
    for label, names in sorted(by_label.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"   {label:<9}{', '.join(names[:8])}{' …' if len(names) > 8 else ''}")
    return lines


async def _produce(settings: Settings, seeds: str) -> int:
    producer = make_producer(settings)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic_raw, src.value, key=src.key) for src in read_sources([seeds])
        ]
        futures.append(await producer.send(settings.topic_raw, MALFORMED_VALUE, key=b"broken-1"))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures) - 1


async def _collect(
    settings: Settings, expected: int, procs: dict[str, tuple[Popen[bytes], Path]], timeout: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    consumer = AIOKafkaConsumer(
        settings.topic_enriched, settings.topic_dlq, **client_kwargs(settings), auto_offset_reset="earliest"
    )
    await consumer.start()
    enriched: dict[str, dict[str, Any]] = {}
    dead: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(enriched) < expected or not dead:
            if time.monotonic() > deadline:
                raise WirestreamError(
                    f"timed out after {timeout:.0f}s with {len(enriched)}/{expected} enriched records"
                )
            for stage, (proc, log_path) in procs.items():
                if proc.poll() is not None:
                    raise WirestreamError(
                        f"{stage} worker exited with code {proc.returncode}; its log:\n{log_tail(log_path)}"
                    )
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for msg in records:
                    value = orjson.loads(msg.value) if msg.value else {}
                    if msg.topic == settings.topic_dlq:
                        dead.append(value)
                    else:
                        enriched[value["id"]] = value
    finally:
        await consumer.stop()
    return sorted(enriched.values(), key=lambda r: r["id"]), dead


def run_demo(settings: Settings, *, seeds: str = "seeds", timeout: float = 240.0) -> int:
    """Run the whole pipeline once over ``seeds`` and print the enriched records."""
    if not Path(seeds).is_dir():
        raise WirestreamError(f"seed directory {seeds!r} not found (run from the repository root)")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="wirestream-demo-"))
    with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
        demo = settings.model_copy(update={"broker": broker.url})
        env = {"WIRESTREAM_BROKER": broker.url, "WIRESTREAM_DATA_DIR": str(workdir / "state")}
        _out(f"embedded broker (Tansu) on {broker.bootstrap}; worker logs in {workdir}")
        asyncio.run(ensure_topics(demo))
        procs = {
            stage: (start_worker(stage, env, workdir / f"{stage}.log"), workdir / f"{stage}.log")
            for stage in ("clean", "tag")
        }
        try:
            sent = asyncio.run(_produce(demo, seeds))
            _out(f"produced {sent} seed articles and 1 malformed record to {demo.topic_raw}; waiting for results…")
            enriched, dead = asyncio.run(_collect(demo, sent, procs, timeout))
        finally:
            codes = {stage: stop_process(proc) for stage, (proc, _) in procs.items()}
    _out()
    for record in enriched:
        for line in describe_enriched(record):
            _out(line)
        _out()
    for letter in dead:
        err = letter["error"]
        _out(f"✗ dead letter from {letter['stage']} stage ({letter['source']['topic']}"
             f"[{letter['source']['partition']}]@{letter['source']['offset']}): {err['type']}: {err['message']}")
    labels = Counter(e["label"] for r in enriched for e in r["entities"])
    _out(
        f"\n{len(enriched)} enriched records, {len(dead)} dead letter(s), "
        f"{sum(labels.values())} entities ({', '.join(f'{k} {v}' for k, v in labels.most_common(6))}) "
        f"in {time.perf_counter() - started:.1f}s; workers stopped with exit codes {codes}"
    )
    return 0
