"""Offline mode: the same stage code as the workers, over files, without a broker."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
from tqdm import tqdm

from workers.cleaning.stage import CleanOptions, clean_article
from workers.dlq import Failure, SourceMessage, log_dead_letter
from workers.settings import Settings
from workers.sources import Format, SourceRecord, read_sources

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            yield handle


def _message(record: SourceRecord, offset: int) -> SourceMessage:
    return SourceMessage(topic=record.origin, partition=0, offset=offset, key=record.key, value=record.value)


def _progress(total: int, what: str) -> tqdm[Any]:
    return tqdm(total=total, desc=what, unit="article", file=sys.stderr, disable=total < 50 or None)


def clean_sources(
    sources: list[SourceRecord], settings: Settings
) -> Iterator[tuple[SourceMessage, dict[str, Any] | Failure]]:
    """Clean each source record with the worker's stage function, yielding ``(message, outcome)``."""
    options = CleanOptions(max_content_bytes=settings.max_content_bytes)
    with _progress(len(sources), "clean") as bar:
        for offset, source in enumerate(sources):
            message = _message(source, offset)
            yield message, clean_article(message, options)
            bar.update()


def _finish(written: int, failed: int, what: str) -> int:
    log.info("%s: %d records written, %d failed", what, written, failed)
    sys.stderr.write(f"{what}: {written} records written, {failed} failed\n")
    return 0 if failed == 0 else 1


def clean_paths(paths: list[str], settings: Settings, *, out: str | None, fmt: Format) -> int:
    """``wirestream clean``: write one clean record per input as JSONL; failures are logged with their reason."""
    sources = list(read_sources(paths, fmt=fmt))
    written = failed = 0
    with _output(out) as handle:
        for message, outcome in clean_sources(sources, settings):
            if isinstance(outcome, Failure):
                log_dead_letter("clean", outcome, message)
                failed += 1
            else:
                handle.write(orjson.dumps(outcome) + b"\n")
                written += 1
    return _finish(written, failed, "clean")


def enrich_paths(paths: list[str], settings: Settings, *, out: str | None, fmt: Format) -> int:
    """``wirestream enrich``: clean then tag, writing enriched records as JSONL."""
    from workers.tagging.model import load_model
    from workers.tagging.stage import ModelInfo, tag_records

    sources = list(read_sources(paths, fmt=fmt))
    cleaned: list[dict[str, Any]] = []
    failed = 0
    for message, outcome in clean_sources(sources, settings):
        if isinstance(outcome, Failure):
            log_dead_letter("clean", outcome, message)
            failed += 1
        else:
            cleaned.append(outcome)
    nlp = load_model(settings.model)
    model = ModelInfo.of(nlp, settings.model)
    written = 0
    size = settings.batch_size
    with _output(out) as handle, _progress(len(cleaned), "tag") as bar:
        for start in range(0, len(cleaned), size):
            chunk = cleaned[start : start + size]
            for record, result in zip(chunk, tag_records(nlp, chunk, model, batch_size=size), strict=True):
                if isinstance(result, Failure):
                    log.warning("tagging %s failed: %s", record["id"], result.error)
                    failed += 1
                else:
                    handle.write(orjson.dumps(result) + b"\n")
                    written += 1
            bar.update(len(chunk))
    return _finish(written, failed, "enrich")
