"""Crash test: ``kill -9`` the clean and tag workers at random points while articles stream, restart them, and
count what reaches ``articles.enriched``: every article id must arrive (at least once); duplicates are counted.

CI runs a short version (300 articles, 2 kills); ``WIRESTREAM_SOAK=1`` (``make soak``) runs 5,000 articles and
6 kills. ``WIRESTREAM_CRASH_SEED`` picks the random kill points (the seed is printed with the summary).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.e2e.conftest import Pipeline
from workers.kafka import client_kwargs, make_producer
from workers.supervisor import log_tail

pytestmark = pytest.mark.e2e

log = logging.getLogger(__name__)

SOAK = os.environ.get("WIRESTREAM_SOAK") == "1"
SEED = int(os.environ.get("WIRESTREAM_CRASH_SEED", "20240312"))

PLACES = ["Portsmouth", "Bristol", "Leeds", "Glasgow", "Cardiff", "Belfast", "Norwich", "Exeter"]
PEOPLE = ["Sam Okafor", "Jane Porter", "Maria Lopez", "Tom Baker", "Aisha Khan", "Li Wei"]


def synthetic_article(index: int, run: str) -> tuple[bytes, bytes]:
    """A short plain-text raw envelope with a unique id (key = id), like ``make_raw_article`` in tests/conftest."""
    article_id = f"{run}-{index:06d}"
    place = PLACES[index % len(PLACES)]
    person = PEOPLE[index % len(PEOPLE)]
    content = (
        f"{place} council approves harbour plan number {index}\n"
        f"By {person}\n"
        "Tuesday 12 March 2024 10:42 GMT\n"
        "Accept all cookies\n"
        f"Councillors in {place} voted on Tuesday to approve plan {index} for the harbour, "
        f"after a late-night debate about its cost of {index * 7 + 100} thousand pounds.\n"
        f"“This is a good day for the city,” said {person}, who chairs the committee.\n"
        "Work on the quays is due to start in the spring.\n"
    )
    envelope = {
        "schema_version": 1,
        "id": article_id,
        "url": f"https://news.example.org/{article_id}",
        "source": "Example News",
        "fetched_at": "2024-03-12T11:00:00Z",
        "content_type": "text/plain",
        "content": content,
    }
    return article_id.encode(), orjson.dumps(envelope)


# --- process helpers -----------------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Direct child process ids of ``pid`` (from /proc)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class LogWatch:
    """Follows one worker's log file from a given position (a restarted worker appends to the same file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.start)
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def ready(self) -> bool:
        return "worker ready" in self.text()

    def count(self, needle: str) -> int:
        return self.text().count(needle)


async def wait_ready(pipeline: Pipeline, name: str, watch: LogWatch, timeout: float = 120.0) -> float:
    """Wait until worker ``name`` has joined its group (its log says so); return the seconds it took."""
    started = time.monotonic()
    while not watch.ready():
        pipeline.assert_alive()
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{name} not ready after {timeout:.0f}s:\n{log_tail(watch.path)}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def kill_hard(pipeline: Pipeline, name: str) -> list[int]:
    """SIGKILL worker ``name`` (no chance to commit); return the pids of the children it left behind."""
    proc = pipeline.workers.pop(name)
    kids = children_of(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return kids


# --- the test -----------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What arrived where, by article id."""

    enriched: Counter[str] = field(default_factory=Counter)
    clean: Counter[str] = field(default_factory=Counter)
    dlq: list[dict[str, Any]] = field(default_factory=list)
    #: where each article's clean records sit: (partition, offset), for diagnosing a loss
    clean_at: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def add(self, record: Any, settings: Any) -> None:
        if record.topic == settings.topic_dlq:
            self.dlq.append(orjson.loads(record.value))
            return
        key = record.key.decode() if record.key else ""
        if record.topic == settings.topic_enriched:
            self.enriched[key] += 1
        else:
            self.clean[key] += 1
            self.clean_at.setdefault(key, []).append((record.partition, record.offset))


def diagnosis(path: Path, missing: set[str], lines: int = 40) -> str:
    """For a failure message: a log's lines about missing ids, plus its last lines other than batch summaries."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    about = [line for line in text if any(m in line for m in missing)][:lines]
    story = [line[:400] for line in text if "batch of" not in line and "skipping a duplicate" not in line]
    return "\n".join(["lines naming missing ids:", *about, "other lines (last):", *story[-lines:]])


@dataclass
class Kill:
    stage: str
    at_produced: int
    enriched_before: int
    orphans: list[int]  # child processes of the killed worker (the tag worker's spaCy process)
    rejoin_s: float = 0.0


async def crash_run(pipeline: Pipeline, *, articles: int, kills: int, seed: int, run: str) -> tuple[Tally, list[Kill]]:
    """Stream ``articles`` while killing (SIGKILL) and restarting a worker ``kills`` times; return what arrived."""
    settings = pipeline.settings
    rng = random.Random(seed)
    # Kill points: numbers of produced articles, spread over the middle of the stream; victims alternate.
    thresholds = sorted(rng.sample(range(articles // 8, articles * 7 // 8), kills))
    first = rng.choice(["clean", "tag"])
    victims = [first if i % 2 == 0 else ("tag" if first == "clean" else "clean") for i in range(kills)]
    watches = {name: LogWatch(pipeline.logs / f"{name}.log") for name in ("clean", "tag")}
    for name in ("clean", "tag"):
        pipeline.start(name)
    for name in ("clean", "tag"):
        await wait_ready(pipeline, name, watches[name])

    consumer = AIOKafkaConsumer(
        settings.topic_enriched,
        settings.topic_clean,
        settings.topic_dlq,
        **client_kwargs(settings),
        auto_offset_reset="earliest",
        fetch_max_bytes=settings.max_message_bytes,
        max_partition_fetch_bytes=settings.max_message_bytes,
    )
    await consumer.start()
    tally = Tally()
    produced = 0
    done_event = asyncio.Event()
    # Produce at a steady rate, pausing while a killed worker rejoins (a join takes ~half the rebalance timeout
    # plus the model load), so that records are flowing at every kill point rather than all produced already.
    chunk = 10
    interval = 0.4
    flowing = asyncio.Event()
    flowing.set()

    async def produce() -> None:
        nonlocal produced
        producer = make_producer(settings, linger_ms=5)
        await producer.start()
        try:
            for start in range(0, articles, chunk):
                futures = []
                for i in range(start, min(start + chunk, articles)):
                    key, value = synthetic_article(i, run)
                    futures.append(await producer.send(settings.topic_raw, value, key=key))
                await asyncio.gather(*futures)
                produced = min(start + chunk, articles)
                await asyncio.sleep(interval)
                await flowing.wait()
        finally:
            await producer.stop()
            done_event.set()

    async def drain(timeout_ms: int = 200) -> None:
        for records in (await consumer.getmany(timeout_ms=timeout_ms)).values():
            for record in records:
                tally.add(record, settings)

    expected = {f"{run}-{i:06d}" for i in range(articles)}
    done: list[Kill] = []
    producer_task = asyncio.create_task(produce())
    # Generous: the stream itself, plus per kill a model load and a group join (about half the rebalance timeout).
    deadline = time.monotonic() + articles * 0.15 + kills * 40 + 120
    try:
        pending_ready: tuple[str, float] | None = None
        while True:
            await drain()
            pipeline.assert_alive()
            if pending_ready is not None:
                name, since = pending_ready
                if watches[name].ready():
                    done[-1].rejoin_s = time.monotonic() - since
                    pending_ready = None
                    flowing.set()
            if pending_ready is None and len(done) < kills and produced >= thresholds[len(done)]:
                victim = victims[len(done)]
                await asyncio.sleep(rng.uniform(0.0, 0.6))  # land anywhere inside a batch
                await drain(0)
                enriched_before = len(tally.enriched)
                orphans = kill_hard(pipeline, victim)
                log.info("killed %s (SIGKILL) after %d produced, %d enriched", victim, produced, enriched_before)
                done.append(Kill(victim, produced, enriched_before, orphans))
                watches[victim] = LogWatch(pipeline.logs / f"{victim}.log")
                pipeline.start(victim)
                pending_ready = (victim, time.monotonic())
                flowing.clear()
            if done_event.is_set() and pending_ready is None and len(done) == kills and expected <= set(tally.enriched):
                break
            if time.monotonic() > deadline:
                break
        # Late duplicates: keep reading until nothing new arrives for 3 s.
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3.0:
            before = sum(tally.enriched.values())
            await drain()
            if sum(tally.enriched.values()) != before:
                quiet_since = time.monotonic()
    finally:
        producer_task.cancel()
        await asyncio.gather(producer_task, return_exceptions=True)
        await consumer.stop()
    return tally, done


def summarise(
    articles: int, run: str, tally: Tally, kills: list[Kill], seconds: float, skipped: int = 0
) -> tuple[str, set[str]]:
    expected = {f"{run}-{i:06d}" for i in range(articles)}
    missing = expected - set(tally.enriched)
    duplicates = sum(n - 1 for n in tally.enriched.values() if n > 1)
    clean_dupes = sum(n - 1 for n in tally.clean.values() if n > 1)
    kill_text = ", ".join(f"{k.stage}@{k.at_produced}(rejoin {k.rejoin_s:.1f}s)" for k in kills)
    summary = (
        f"crash run seed={SEED}: {articles} articles sent, {len(kills)} kills [{kill_text}], "
        f"{len(expected) - len(missing)} arrived on enriched, {len(missing)} lost, "
        f"{duplicates} duplicate enriched records ({sum(1 for n in tally.enriched.values() if n > 1)} ids), "
        f"{clean_dupes} duplicate clean records, {skipped} duplicates skipped by the tag worker's dedupe, "
        f"{len(tally.dlq)} dead letters, {seconds:.0f}s"
    )
    return summary, missing


def reap_orphans(kills: list[Kill], wait: float) -> list[int]:
    """Wait up to ``wait`` s for the children of killed workers to exit; SIGKILL and return those that did not."""
    deadline = time.monotonic() + wait
    leftovers = []
    for pid in (pid for kill in kills for pid in kill.orphans):
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            leftovers.append(pid)
            os.kill(pid, signal.SIGKILL)
    return leftovers


@pytest.mark.timeout(3600 if SOAK else 600)  # the soak streams 5,000 articles through 6 kills
def test_kill_9_workers_at_random_points_loses_nothing(pipeline: Pipeline, record_property: Any) -> None:
    articles, kills = (5000, 6) if SOAK else (300, 2)
    pipeline.env["WIRESTREAM_LOG_FORMAT"] = "json"  # skip and dead-letter lines then carry the article id
    run = f"crash{SEED}"
    started = time.monotonic()
    done: list[Kill] = []
    try:
        tally, done = asyncio.run(crash_run(pipeline, articles=articles, kills=kills, seed=SEED, run=run))
    finally:
        leftovers = reap_orphans(done, wait=15.0)
    tag_log = pipeline.logs / "tag.log"
    skipped = tag_log.read_text(errors="replace").count("skipping a duplicate") if tag_log.exists() else 0
    summary, missing = summarise(articles, run, tally, done, time.monotonic() - started, skipped)
    log.warning("%s", summary)
    record_property("crash_summary", summary)
    record_property("duplicates", sum(n - 1 for n in tally.enriched.values() if n > 1))

    assert len(done) == kills, f"only {len(done)} of {kills} kills happened: {summary}"
    if missing:
        sample = sorted(missing)[:20]
        in_clean = {m: tally.clean_at.get(m) for m in sample if m in tally.clean}
        dead = [d for d in tally.dlq if d.get("article_id") in missing][:5]
        raise AssertionError(
            f"{summary}\nmissing (first 20): {sample}\nof those, on articles.clean at (partition, offset): "
            f"{in_clean}\ndead letters for missing ids: {dead}\n"
            f"clean log:\n{diagnosis(pipeline.logs / 'clean.log', missing)}\n"
            f"tag log:\n{diagnosis(pipeline.logs / 'tag.log', missing)}"
        )
    assert not tally.dlq, f"synthetic articles must not dead-letter: {tally.dlq[:3]}"
    # Every kill landed while records were in flight (produced but not yet enriched).
    for kill in done:
        assert kill.at_produced > kill.enriched_before, f"kill {kill} landed with nothing in flight; {summary}"
    # A killed tag worker must not leave its spaCy child process running (it would hold the model's memory).
    assert not leftovers, f"child processes outlived their killed worker: {leftovers}; {summary}"
