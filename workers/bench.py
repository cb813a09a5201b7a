"""``wirestream bench``: throughput and memory, always as ratios measured in the same run.

- tagging in the stream: words/s of a real tag worker process fed through the embedded broker (time from the
  first produced clean record to the last enriched record) next to bare ``nlp.pipe`` on the same texts;
- two tag workers in one consumer group next to one (the speed-up);
- RSS of a tag worker at the start and end of a long run (``--rss-articles``; flat within 5 % is the goal);
- tagging merge overhead in-process (``workers.tagging.benchmark``);
- cleaning speed and quality next to trafilatura on the shared dev set, when it is present.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from workers.broker import EmbeddedBroker
from workers.kafka import client_kwargs, ensure_topics, make_producer
from workers.records import dumps, rfc3339, utcnow
from workers.settings import Settings
from workers.supervisor import log_tail, start_worker, stop_process

log = logging.getLogger(__name__)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def seed_paragraphs() -> list[str]:
    """Body paragraphs of the checked-in English seeds (the expected outputs), the benchmark's text."""
    paragraphs: list[str] = []
    for path in sorted(SEEDS.glob("*.expected.json")):
        expected = json.loads(path.read_text())
        if expected.get("language") == "en":
            paragraphs.extend(expected["body"])
    if not paragraphs:
        raise FileNotFoundError(f"no English seeds with expected output under {SEEDS}")
    return paragraphs


def clean_records(
    count: int, paragraphs: Sequence[str], per_article: int, tag: str, *, novel: bool = False
) -> list[dict[str, Any]]:
    """``count`` synthetic clean records, each ``per_article`` paragraphs cycled from ``paragraphs``.

    ``novel=True`` appends a sentence with never-seen names and numbers to each article, so a worker that kept
    every string it ever saw (no ``memory_zone``) would grow without bound.
    """
    now = rfc3339(utcnow())
    out = []
    for i in range(count):
        body = [paragraphs[(i * per_article + j) % len(paragraphs)] for j in range(per_article)]
        if novel:
            body.append(f"Officials named Zorvex{i:x} Kalumbra{i * 7919:x} of Quentaro{i % 977}ville as the new envoy.")
        out.append(
            {
                "schema_version": 1,
                "id": f"{tag}-{i}",
                "url": None,
                "source": "bench",
                "content_type": "text/plain",
                "language": "en",
                "title": None,
                "standfirst": None,
                "authors": [],
                "published_at": None,
                "fetched_at": None,
                "body": body,
                "stats": {"chars_in": 0, "chars_out": sum(map(len, body)), "lines_in": 0, "lines_removed": 0},
                "flags": [],
                "cleaned_at": now,
            }
        )
    return out


def words_of(records: Sequence[dict[str, Any]]) -> int:
    """Whitespace-separated words in the records' bodies."""
    return sum(len(p.split()) for r in records for p in r["body"])


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (Linux ``/proc``)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        out += [int(p) for p in task.read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_rss(pid: int) -> int:
    """RSS of a worker and its children (the spaCy child process holds the model)."""
    return rss_bytes(pid) + sum(rss_bytes(child) for child in child_pids(pid))


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def _produce(settings: Settings, records: Sequence[dict[str, Any]]) -> None:
    producer = make_producer(settings, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic_clean, dumps(r), key=str(r["id"]).encode()) for r in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _drain(
    consumer: AIOKafkaConsumer, wanted: int, procs: Sequence[Any], timeout: float, on_progress: Any = None
) -> None:
    seen: set[bytes] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(seen)}/{wanted} enriched records after {timeout:.0f}s")
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"tag worker exited with {proc.returncode}")
        for batch in (await consumer.getmany(timeout_ms=200)).values():
            for record in batch:
                if record.key:
                    seen.add(record.key)
        if on_progress is not None:
            on_progress(len(seen))


async def _timed_stream_run(
    settings: Settings, records: Sequence[dict[str, Any]], procs: Sequence[Any], timeout: float, on_progress: Any
) -> float:
    consumer = AIOKafkaConsumer(
        settings.topic_enriched, **client_kwargs(settings), auto_offset_reset="latest", group_id=None
    )
    await consumer.start()
    try:
        await consumer.seek_to_end()
        started = time.perf_counter()
        producing = asyncio.create_task(_produce(settings, records))
        await _drain(consumer, len(records), procs, timeout, on_progress)
        await producing
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def stream_run(
    settings: Settings,
    records: Sequence[dict[str, Any]],
    *,
    workers: int = 1,
    timeout: float = 1800.0,
    sample_rss: bool = False,
) -> dict[str, Any]:
    """Time ``records`` through ``workers`` real tag worker processes on a fresh embedded broker."""
    workdir = Path(tempfile.mkdtemp(prefix="wirestream-bench-"))
    with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
        run = settings.model_copy(update={"broker": broker.url})
        asyncio.run(ensure_topics(run))
        env = {
            "WIRESTREAM_BROKER": broker.url,
            "WIRESTREAM_DATA_DIR": str(workdir / "state"),
            "WIRESTREAM_BATCH_SIZE": str(settings.batch_size),
            "WIRESTREAM_BATCH_WINDOW_S": str(settings.batch_window_s),
            "WIRESTREAM_PARTITIONS": str(settings.partitions),
            "WIRESTREAM_LOG_LEVEL": settings.log_level,
        }
        procs = [start_worker("tag", env, workdir / f"tag-{i}.log") for i in range(workers)]
        try:
            # Warm-up: every worker joined and the model loaded (one record per partition).
            warm = clean_records(settings.partitions * 2, seed_paragraphs(), 1, "warm")
            asyncio.run(_timed_stream_run(run, warm, procs, 300.0, None))
            rss: list[int] = []
            # One RSS sample at the start and one each time another tenth of the records has come through.
            marks = [len(records) * k // 10 for k in range(1, 11)]

            def progress(done: int) -> None:
                if not sample_rss:
                    return
                if not rss or (marks and done >= marks[0]):
                    rss.append(tree_rss(procs[0].pid))
                    while marks and done >= marks[0]:
                        marks.pop(0)

            watched = {"broker": broker.pid or 0, "worker": procs[0].pid}
            watched.update({f"worker-child-{i}": c for i, c in enumerate(child_pids(procs[0].pid))})
            cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
            seconds = asyncio.run(_timed_stream_run(run, records, procs, timeout, progress))
            cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 2) for name, pid in watched.items()}
            if sample_rss:
                rss.append(tree_rss(procs[0].pid))
        except BaseException:
            for i, _ in enumerate(procs):
                log.error("tag worker %d log:\n%s", i, log_tail(workdir / f"tag-{i}.log"))  # noqa: TRY400
            raise
        finally:
            for proc in procs:
                stop_process(proc)
    return {"seconds": seconds, "rss": rss, "cpu": cpu}


def bare_pipe_seconds(model: str, records: Sequence[dict[str, Any]], batch_size: int) -> float:
    """Seconds for bare ``nlp.pipe`` over the same paragraphs (model loaded and warmed up first)."""
    from workers.tagging.model import load_model

    nlp = load_model(model)
    paragraphs = [p for r in records for p in r["body"]]
    list(nlp.pipe(paragraphs[:50]))
    started = time.perf_counter()
    with nlp.memory_zone():
        for doc in nlp.pipe(paragraphs, batch_size=batch_size):
            _ = doc.ents
    return time.perf_counter() - started


def run_bench(settings: Settings, *, articles: int, rss_articles: int, dev: Path | None) -> int:
    """Print every benchmark figure of wirestream; exit 0."""
    settings = settings.model_copy(update={"batch_size": max(settings.batch_size, 64), "batch_window_s": 0.2})
    paragraphs = seed_paragraphs()
    records = clean_records(articles, paragraphs, 6, "bench")
    words = words_of(records)
    _out(f"# tagging through the stream: {articles} articles, {words:,} words, batch {settings.batch_size}")
    bare = bare_pipe_seconds(settings.model, records, settings.batch_size)
    single = stream_run(settings, records, workers=1)
    one = single["seconds"]
    _out(f"bare nlp.pipe            {words / bare:10,.0f} words/s")
    _out(f"1 tag worker (stream)    {words / one:10,.0f} words/s   ratio to bare nlp.pipe {bare / one:.2f}")
    _out(f"   CPU seconds during the stream run ({one:.1f}s wall): {single['cpu']}")
    two = stream_run(settings, clean_records(articles, paragraphs, 6, "bench2"), workers=2)["seconds"]
    _out(f"2 tag workers (stream)   {words / two:10,.0f} words/s   speed-up over 1 worker {one / two:.2f}x")

    from workers.tagging.benchmark import bench_tagging
    from workers.tagging.entities import ArticleText
    from workers.tagging.model import load_model

    texts = [ArticleText(title=None, standfirst=None, body=r["body"]) for r in records[:300]]
    merge = bench_tagging(load_model(settings.model), texts, batch_size=settings.batch_size)
    _out(f"tag_articles in-process  {merge['tag_words_per_s']:10,.0f} words/s   ratio to bare nlp.pipe "
         f"{merge['ratio']:.2f}")

    if rss_articles:
        short = clean_records(rss_articles, paragraphs, 1, "rss", novel=True)
        _out(f"\n# memory: {rss_articles:,} short articles through one tag worker")
        result = stream_run(settings, short, workers=1, sample_rss=True)
        rss = result["rss"]
        start, end = rss[1] if len(rss) > 1 else rss[0], rss[-1]
        _out(f"tag worker (+ spaCy child) RSS after warm-up {start / 2**20:.1f} MiB, at the end {end / 2**20:.1f} MiB "
             f"({(end - start) / start:+.1%}); samples {[round(r / 2**20) for r in rss]} MiB; "
             f"{rss_articles / result['seconds']:.0f} articles/s")

    if dev is not None and dev.is_file():
        from workers.cleaning.evaluation import evaluate, format_table
        from workers.cleaning.native import describe

        _out("\n# cleaning on the shared dev set (ours next to trafilatura, same run)")
        _out(describe())
        _out(format_table(evaluate(dev, ["text", "html"])))
    return 0
