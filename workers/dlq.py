"""The one error policy: a record a stage cannot process becomes a dead letter, and the worker goes on.

Stages never raise into their agent loop. They return an output record or a :class:`Failure`; :func:`dead_letter`
turns a failure plus the original message into an ``articles.dlq`` record that carries everything needed to
replay it (original key, value and headers in base64, source topic/partition/offset, the error, who and when).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from workers.errors import StageCrashError, WirestreamError
from workers.records import SCHEMA_VERSION, rfc3339, utcnow

log = logging.getLogger(__name__)

Stage = Literal["clean", "tag"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """What a stage read: the original bytes and where they came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)
    timestamp: float | None = None

    def header(self, name: str) -> bytes | None:
        """Return the first header called ``name`` (case-insensitive), if any."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Failure:
    """A stage's answer for a record it could not process: errors are data, routed to the DLQ."""

    error: WirestreamError
    article_id: str | None = None


def run_guarded(fn: Callable[[], T]) -> T | Failure:
    """Call a stage function; turn any exception into a :class:`Failure` so nothing escapes the agent loop."""
    try:
        return fn()
    except WirestreamError as exc:
        return Failure(exc)
    except Exception as exc:
        log.exception("stage raised %s", type(exc).__name__)
        return Failure(StageCrashError(f"{type(exc).__name__}: {exc}"))


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def dead_letter(
    stage: Stage,
    failure: Failure,
    message: SourceMessage,
    *,
    worker_id: str,
    max_value_bytes: int,
) -> dict[str, Any]:
    """Build the ``dlq`` record for ``message`` that ``stage`` failed on.

    Values larger than ``max_value_bytes`` are cut to that size (``value_truncated`` is then true); the size and
    sha256 of the whole original value are always recorded.
    """
    value = message.value
    truncated = value is not None and len(value) > max_value_bytes
    kept = value[:max_value_bytes] if (value is not None and truncated) else value
    error = failure.error
    message_text = str(error) or type(error).__name__
    return {
        "schema_version": SCHEMA_VERSION,
        "stage": stage,
        "article_id": failure.article_id,
        "error": {
            "type": error.code,
            "class": type(error).__name__,
            "message": message_text[:2000],
            "retriable": error.retriable,
        },
        "source": {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "timestamp": message.timestamp,
        },
        "key": _b64(message.key),
        "value": _b64(kept),
        "value_size": 0 if value is None else len(value),
        "value_truncated": truncated,
        "value_sha256": hashlib.sha256(value or b"").hexdigest(),
        "headers": [{"key": k, "value": _b64(v)} for k, v in message.headers],
        "failed_at": rfc3339(utcnow()),
        "worker_id": worker_id,
    }


def log_dead_letter(stage: Stage, failure: Failure, message: SourceMessage) -> None:
    """The log line every dead letter gets: where it came from and why."""
    log.warning(
        "dead-lettered record from %s[%d]@%d (stage=%s, article_id=%s): %s: %s",
        message.topic,
        message.partition,
        message.offset,
        stage,
        failure.article_id,
        failure.error.code,
        str(failure.error)[:300],
        extra={
            "article_id": failure.article_id,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "stage": stage,
            "error_type": failure.error.code,
        },
    )


def headers_from(raw: Iterable[Any] | dict[str, Any] | None) -> tuple[tuple[str, bytes], ...]:
    """Normalise Kafka headers (list of pairs or mapping; str or bytes values) to ``(str, bytes)`` pairs."""
    if not raw:
        return ()
    items: Iterable[Any] = raw.items() if isinstance(raw, dict) else raw
    out: list[tuple[str, bytes]] = []
    for key, value in items:
        k = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        if value is None:
            v = b""
        elif isinstance(value, bytes):
            v = value
        else:
            v = str(value).encode()
        out.append((k, v))
    return tuple(out)
