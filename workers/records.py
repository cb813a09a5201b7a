"""Record contracts: JSON Schema validation, (de)serialisation with orjson, raw-value sniffing and article ids."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from workers.errors import (
    ContentTooLargeError,
    EmptyContentError,
    InvalidJsonError,
    NotUtf8Error,
    SchemaError,
    UnsupportedVersionError,
)


def _schema_dir() -> Path:
    """``schemas/`` of the repository, or the copy packaged inside ``workers/`` (container images)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "schemas", here / "schemas"):
        if (candidate / "article.raw.v1.json").is_file():
            return candidate
    return here.parent / "schemas"


SCHEMA_DIR = _schema_dir()
SCHEMA_VERSION = 1
KNOWN_VERSIONS = frozenset({1})

#: Record kind -> schema file stem (versioned).
SCHEMAS = {
    "raw": "article.raw.v1",
    "clean": "article.clean.v1",
    "enriched": "article.enriched.v1",
    "entity": "article.entity.v1",
    "dlq": "dlq.v1",
}

_HTML_SNIFF = re.compile(
    rb"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<article[\s>]|<(?:div|p|h1|meta|title)[\s>])",
    re.IGNORECASE,
)
_HTML_TAG = re.compile(rb"</?(?:p|div|span|a|br|h[1-6]|article|section|body|html)\b[^>]*>", re.IGNORECASE)


@cache
def validator(kind: str) -> Callable[[Any], Any]:
    """Return the compiled fastjsonschema validator for a record kind (``raw``, ``clean``, ``enriched``, ``dlq``)."""
    path = SCHEMA_DIR / f"{SCHEMAS[kind]}.json"
    schema = orjson.loads(path.read_bytes())
    compiled: Callable[[Any], Any] = fastjsonschema.compile(schema)
    return compiled


def validate(kind: str, record: Any) -> None:
    """Validate ``record`` against the schema of ``kind``; raise :class:`SchemaError` naming the failing rule."""
    try:
        validator(kind)(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise SchemaError(f"{SCHEMAS[kind]}: {exc.message}") from None


def dumps(record: Mapping[str, Any]) -> bytes:
    """Serialise a record to compact JSON bytes."""
    return orjson.dumps(record)


def loads_object(value: bytes) -> dict[str, Any]:
    """Parse JSON bytes that must hold an object; raise :class:`InvalidJsonError` otherwise."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidJsonError(f"value is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidJsonError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def check_version(version: Any) -> None:
    """Raise :class:`UnsupportedVersionError` unless ``version`` is a known ``schema_version`` (an int, not a bool,
    float or any unhashable JSON value, which would otherwise escape as a ``TypeError`` from the set lookup)."""
    if isinstance(version, bool) or not isinstance(version, int) or version not in KNOWN_VERSIONS:
        shown = repr(version)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise UnsupportedVersionError(f"schema_version {shown} is not one of {sorted(KNOWN_VERSIONS)}")


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a ``Z`` suffix (seconds precision)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: wirestream only handles timezone-aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def parse_rfc3339(value: str | None) -> datetime | None:
    """Parse an RFC 3339 / ISO 8601 timestamp into an aware UTC datetime; naive values are taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def article_id_for(url: str | None, content: str) -> str:
    """Derive a stable article id: from the URL when there is one, else from a hash of the content."""
    if url:
        normalised = url.strip().split("#", 1)[0].rstrip("/").lower()
        return "u-" + hashlib.blake2b(normalised.encode(), digest_size=12).hexdigest()
    return "c-" + hashlib.blake2b(content.encode(), digest_size=12).hexdigest()


def sniff_content_type(value: bytes) -> str:
    """Tell ``text/html`` from ``text/plain`` for a bare value."""
    head = value[:4096]
    if _HTML_SNIFF.match(head) or len(_HTML_TAG.findall(head)) >= 3:
        return "text/html"
    return "text/plain"


def decode_raw(
    value: bytes | None,
    *,
    max_bytes: int,
    headers: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """Turn a value from ``articles.raw`` into a validated raw envelope.

    Accepts the JSON envelope (``article.raw``) or a bare text/HTML value, which is sniffed and wrapped.
    Raises a :class:`~workers.errors.RecordError` subclass for anything that cannot become an article.
    """
    if value is None or not value.strip():
        raise EmptyContentError("record value is empty")
    if len(value) > max_bytes:
        raise ContentTooLargeError(f"value is {len(value)} bytes, over the limit of {max_bytes}")
    declared = (headers or {}).get("content-type", b"").decode("latin-1").lower()
    stripped = value.lstrip(b"\xef\xbb\xbf \t\r\n")
    if declared.startswith("application/json") or stripped[:1] == b"{":
        record = loads_object(stripped)
        check_version(record.get("schema_version", SCHEMA_VERSION))
        validate("raw", record)
        content = record["content"]
        if not content.strip():
            raise EmptyContentError("content is empty")
        record = dict(record)
        record["schema_version"] = SCHEMA_VERSION
        record.setdefault("content_type", sniff_content_type(content[:4096].encode("utf-8", "replace")))
    else:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotUtf8Error(f"value is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if declared.startswith("text/html"):
            content_type = "text/html"
        elif declared.startswith("text/plain"):
            content_type = "text/plain"
        else:
            content_type = sniff_content_type(value)
        record = {"schema_version": SCHEMA_VERSION, "content_type": content_type, "content": text}
    if "\x00" in record["content"]:
        raise NotUtf8Error("content holds NUL bytes: binary data, not text")
    record.setdefault("url", None)
    record.setdefault("source", None)
    record.setdefault("fetched_at", None)
    if not record.get("id"):
        record["id"] = article_id_for(record.get("url"), record["content"])
    return record


def decode_versioned(kind: str, value: bytes | None) -> dict[str, Any]:
    """Parse and validate a JSON record of ``kind`` produced by another stage, checking ``schema_version``."""
    if value is None:
        raise EmptyContentError("record value is empty")
    record = loads_object(value)
    check_version(record.get("schema_version"))
    validate(kind, record)
    return record
