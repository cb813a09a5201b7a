"""Reading articles from files for ``wirestream produce``, ``clean``, ``enrich`` and the demo.

A path may be a ``.txt`` / ``.html`` file (one article), a ``.json`` file (one raw envelope), a ``.jsonl`` file
(one raw envelope per line), a directory (its article files, sorted; ``*.expected.json`` is skipped), or ``-``
for standard input (JSONL when every line is a JSON object, else one article).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson

from workers.records import dumps, rfc3339, utcnow

Format = Literal["auto", "text", "html"]
ARTICLE_SUFFIXES = {".txt": "text/plain", ".text": "text/plain", ".html": "text/html", ".htm": "text/html"}
ENVELOPE_SUFFIXES = {".json", ".jsonl", ".ndjson"}


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One value to publish or process: the bytes as a producer would send them, with its key."""

    key: bytes | None
    value: bytes
    origin: str


def _content_type(path: Path, fmt: Format) -> str | None:
    if fmt == "text":
        return "text/plain"
    if fmt == "html":
        return "text/html"
    return ARTICLE_SUFFIXES.get(path.suffix.lower())


def envelope_for(path: Path, content: str, fmt: Format = "auto") -> bytes:
    """Wrap a text or HTML file into a raw envelope (id from the file name, fetched now)."""
    record: dict[str, object] = {
        "schema_version": 1,
        "id": path.stem,
        "url": None,
        "source": None,
        "fetched_at": rfc3339(utcnow()),
        "content": content,
    }
    content_type = _content_type(path, fmt)
    if content_type:
        record["content_type"] = content_type
    return dumps(record)


def _key_of(value: bytes) -> bytes | None:
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"]:
        return str(obj["id"]).encode()
    return None


def _with_format(value: bytes, fmt: Format) -> bytes:
    """Force ``content_type`` of a JSON envelope when a format is given; other values pass untouched."""
    if fmt == "auto":
        return value
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    if not isinstance(obj, dict):
        return value
    obj["content_type"] = "text/html" if fmt == "html" else "text/plain"
    return dumps(obj)


def _jsonl(data: bytes, origin: str, fmt: Format) -> Iterator[SourceRecord]:
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            value = _with_format(line.strip(), fmt)
            yield SourceRecord(key=_key_of(value), value=value, origin=f"{origin}:{number}")


def expand_paths(paths: Iterable[str]) -> list[Path | None]:
    """Expand directories to their article files; ``None`` stands for stdin."""
    out: list[Path | None] = []
    for raw in paths:
        if raw == "-":
            out.append(None)
            continue
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                suffix = child.suffix.lower()
                if child.name.endswith(".expected.json") or not child.is_file():
                    continue
                if suffix in ARTICLE_SUFFIXES or suffix in ENVELOPE_SUFFIXES:
                    out.append(child)
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {raw}")
    return out


def read_sources(paths: Iterable[str], *, raw: bool = False, fmt: Format = "auto") -> Iterator[SourceRecord]:
    """Yield the records held by ``paths``.

    ``raw=True`` sends each file's bytes untouched as one value (keyed by file name); otherwise text and HTML
    files are wrapped in the raw envelope and JSON/JSONL files are sent as envelopes, one per object/line.
    """
    for path in expand_paths(paths):
        if path is None:
            data = sys.stdin.buffer.read()
            lines = [ln for ln in data.splitlines() if ln.strip()]
            if not raw and lines and all(ln.lstrip().startswith(b"{") for ln in lines):
                yield from _jsonl(data, "stdin", fmt)
            else:
                yield SourceRecord(key=None, value=data, origin="stdin")
            continue
        data = path.read_bytes()
        suffix = path.suffix.lower()
        if raw:
            yield SourceRecord(key=path.stem.encode(), value=data, origin=str(path))
        elif suffix in {".jsonl", ".ndjson"}:
            yield from _jsonl(data, str(path), fmt)
        elif suffix == ".json":
            value = _with_format(data, fmt)
            yield SourceRecord(key=_key_of(value), value=value, origin=str(path))
        else:
            text = data.decode("utf-8", errors="replace")
            yield SourceRecord(key=path.stem.encode(), value=envelope_for(path, text, fmt), origin=str(path))
