"""``wirestream``: the command line — demo, worker, broker, topics, produce, consume, clean, enrich."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import orjson

from workers.errors import WirestreamError
from workers.logs import configure_logging
from workers.settings import Settings, load_settings

log = logging.getLogger("wirestream")


def _out(line: str) -> None:
    """Write one line of command output to stdout (results go to stdout, logs to stderr)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run one stage's Faust worker in the foreground."""
    from workers.runner import run_worker

    run_worker(settings, args.stage)
    return 0


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the embedded broker in the foreground until Ctrl-C / SIGTERM; restart Tansu if it dies."""
    from workers.broker import EmbeddedBroker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmbeddedBroker(port=args.port, storage=args.storage) as broker:
        _out(f"embedded broker listening: export WIRESTREAM_BROKER={broker.url}")
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(1.0):
                if not broker.running:
                    lost = "topics kept (s3 storage)" if args.storage == "s3" else "topics lost (memory storage)"
                    log.warning("the broker process died; restarting it on the same port: %s", lost)
                    broker.restart()
    return 0


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    """Create the pipeline topics if they are missing."""
    from workers.kafka import ensure_topics, pipeline_topics

    asyncio.run(ensure_topics(settings, timeout=args.timeout))
    _out("topics ready: " + ", ".join(pipeline_topics(settings)))
    return 0


async def _produce(args: argparse.Namespace, settings: Settings) -> int:
    from workers.kafka import ensure_topics, make_producer
    from workers.sources import read_sources

    await ensure_topics(settings)
    topic = args.topic or settings.topic_raw
    producer = make_producer(settings)
    await producer.start()
    sent = 0
    try:
        futures = []
        for record in read_sources(args.paths, raw=args.raw):
            futures.append(await producer.send(topic, record.value, key=record.key))
            sent += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    log.info("produced %d records to %s", sent, topic)
    _out(f"produced {sent} records to {topic}")
    return 0


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    """Publish files (or stdin) to ``articles.raw``."""
    return asyncio.run(_produce(args, settings))


def _render(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.decode("utf-8", errors="replace")


async def _consume(args: argparse.Namespace, settings: Settings) -> int:
    from workers.kafka import consume_records

    async for record in consume_records(
        settings,
        args.topic,
        from_beginning=args.from_beginning,
        limit=args.limit,
        idle_timeout=args.timeout,
    ):
        line = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", "replace") if record.key else None,
            "value": _render(record.value),
        }
        _out(orjson.dumps(line).decode())
    return 0


def cmd_consume(args: argparse.Namespace, settings: Settings) -> int:
    """Print the records of a topic as JSON lines."""
    return asyncio.run(_consume(args, settings))


def cmd_clean(args: argparse.Namespace, settings: Settings) -> int:
    """Clean files offline (no broker) with the same stage code as the worker."""
    from workers.offline import clean_paths

    return clean_paths(args.paths, settings, out=args.out, fmt=args.format)


def cmd_enrich(args: argparse.Namespace, settings: Settings) -> int:
    """Clean and tag files offline (no broker) with the same stage code as the workers."""
    from workers.offline import enrich_paths

    return enrich_paths(args.paths, settings, out=args.out, fmt=args.format)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The main job in one command: embedded broker, both workers, the seeds through them, results shown."""
    from workers.demo import run_demo

    if settings.log_level == "INFO":
        configure_logging("WARNING", settings.log_format)  # the demo prints its own progress; worker logs go to files
    return run_demo(settings, seeds=args.seeds, timeout=args.timeout)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Re-publish dead letters to their source topics."""
    from workers.replay import parse_since, replay_dead_letters

    if not args.from_dlq:
        raise WirestreamError("replay needs --from-dlq (the only source of replays so far)")
    summary = asyncio.run(
        replay_dead_letters(
            settings,
            stage=args.stage,
            since=parse_since(args.since),
            dry_run=args.dry_run,
            idle_timeout=args.idle_timeout,
        )
    )
    verb = "would replay" if args.dry_run else "replayed"
    replayed = ", ".join(f"{n} to {t}" for t, n in summary.replayed.items()) or "nothing"
    skipped = ", ".join(f"{n} {why}" for why, n in summary.skipped.items()) or "none"
    _out(f"read {summary.read} dead letters; {verb} {replayed}; skipped: {skipped}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Throughput and memory figures, as ratios measured in one run."""
    from pathlib import Path

    from workers.bench import run_bench

    if settings.log_level == "INFO":
        configure_logging("WARNING", settings.log_format)
    dev = Path(args.dev) if args.dev else None
    return run_bench(settings, articles=args.articles, rss_articles=args.rss_articles, dev=dev)


def build_parser() -> argparse.ArgumentParser:
    """The ``wirestream`` argument parser."""
    parser = argparse.ArgumentParser(prog="wirestream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run broker + both workers over the seeds and show enriched records")
    p.add_argument("--seeds", default="seeds", help="directory of sample raw articles (default: seeds)")
    p.add_argument("--timeout", type=float, default=240.0, help="give up after this many seconds")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("replay", help="re-publish dead letters to their source topic after a fix")
    p.add_argument("--from-dlq", action="store_true", help="read WIRESTREAM_TOPIC_DLQ (required)")
    p.add_argument("--stage", choices=["clean", "tag"], default=None, help="only letters of this stage")
    p.add_argument("--since", default=None, help="only letters since an RFC 3339 time or a duration (30m, 2h, 1d)")
    p.add_argument("--dry-run", action="store_true", help="count what would be replayed, send nothing")
    p.add_argument("--idle-timeout", type=float, default=5.0, help="stop reading after S seconds with nothing new")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("bench", help="throughput (stream vs bare spaCy, 1 vs 2 workers), memory, cleaning speed")
    p.add_argument("--articles", type=int, default=1500, help="articles per stream run (6 paragraphs each)")
    p.add_argument("--rss-articles", type=int, default=50_000, help="short articles for the memory run; 0 skips")
    p.add_argument("--dev", default=None, help="shared cleaning dev.jsonl for the cleaning figures")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("worker", help="run one stage as a Faust worker (its own consumer group)")
    p.add_argument("stage", choices=["clean", "tag"])
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("broker", help="run the embedded Kafka-protocol broker (Tansu) in the foreground")
    p.add_argument("--port", type=int, default=9092)
    p.add_argument("--storage", choices=["memory", "s3"], default="memory",
                   help="s3: keep topics in a loopback S3 bucket (needs wirestream[durable]) so they survive "
                        "a broker restart")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("topics", help="create the pipeline topics if missing")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("produce", help="publish .txt/.html/.json/.jsonl files, directories or - (stdin)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--raw", action="store_true", help="send each file's bytes untouched as one value")
    p.add_argument("--topic", default=None, help="topic (default: WIRESTREAM_TOPIC_RAW)")
    p.set_defaults(func=cmd_produce)

    p = sub.add_parser("consume", help="print a topic's records as JSON lines")
    p.add_argument("topic")
    p.add_argument("--from-beginning", action="store_true")
    p.add_argument("--limit", type=int, default=None, help="exit after N records")
    p.add_argument("--timeout", type=float, default=None, help="exit after S seconds with no new record")
    p.set_defaults(func=cmd_consume)

    for name, func, help_text in (
        ("clean", cmd_clean, "clean files or raw-envelope JSONL offline, write clean records as JSONL"),
        ("enrich", cmd_enrich, "clean + tag files or raw-envelope JSONL offline, write enriched JSONL"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("paths", nargs="+")
        p.add_argument("--format", choices=["auto", "text", "html"], default="auto")
        p.add_argument("--out", default=None, help="output JSONL file (default: stdout)")
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wirestream`` command."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except WirestreamError as exc:
        sys.stderr.write(f"wirestream: {exc}\n")
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.library_log_level)
    try:
        return int(args.func(args, settings))
    except WirestreamError as exc:
        log.error("%s", exc)  # noqa: TRY400 - a clear one-line message, not a traceback, for expected errors
        return 1
    except FileNotFoundError as exc:
        log.error("%s", exc)  # noqa: TRY400
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
