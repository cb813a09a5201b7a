"""``wirestream replay --from-dlq``: re-publish dead letters to their source topic after a fix.

Each dead letter carries the original key, value and headers (base64) and the topic it was read from; replay
sends them back unchanged, adding a ``wirestream-replayed-from`` header (``dlq-topic:partition:offset``) so the
second attempt can be traced. Letters whose value was truncated cannot be replayed faithfully and are skipped.
The DLQ is read from the beginning until it has been idle for ``idle_timeout`` seconds (end offsets are not
trusted: the embedded broker reports them wrongly).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from workers.errors import ConfigError
from workers.kafka import consume_records, make_producer
from workers.records import parse_rfc3339, utcnow
from workers.settings import Settings

log = logging.getLogger(__name__)

REPLAY_HEADER = "wirestream-replayed-from"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass
class ReplaySummary:
    """What a replay did."""

    read: int = 0
    replayed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


def parse_since(value: str | None) -> datetime | None:
    """``--since``: an RFC 3339 time, or a duration back from now such as ``30m``, ``2h``, ``1d``."""
    if not value:
        return None
    match = _DURATION.match(value.strip())
    if match:
        return utcnow() - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    moment = parse_rfc3339(value)
    if moment is None:
        raise ConfigError(f"--since {value!r}: expected an RFC 3339 time or a duration like 30m, 2h, 1d")
    return moment


def _selected(letter: dict[str, object], stage: str | None, since: datetime | None) -> str | None:
    """Why ``letter`` is skipped, or None when it is to be replayed."""
    if stage and letter.get("stage") != stage:
        return "other stage"
    failed_at = parse_rfc3339(str(letter.get("failed_at") or ""))
    if since and (failed_at is None or failed_at < since):
        return "older than --since"
    if letter.get("value_truncated"):
        return "value truncated in the DLQ"
    if letter.get("value") is None:
        return "no value"
    return None


async def replay_dead_letters(
    settings: Settings,
    *,
    stage: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    idle_timeout: float = 5.0,
) -> ReplaySummary:
    """Re-publish the selected dead letters of ``settings.topic_dlq`` to their source topics."""
    summary = ReplaySummary()
    producer = make_producer(settings)
    await producer.start()
    try:
        pending = []
        async for record in consume_records(settings, settings.topic_dlq, idle_timeout=idle_timeout):
            summary.read += 1
            try:
                letter = orjson.loads(record.value or b"")
                source = letter["source"]["topic"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                summary.skipped["not a dead letter"] += 1
                continue
            reason = _selected(letter, stage, since)
            if reason:
                summary.skipped[reason] += 1
                continue
            key = base64.b64decode(letter["key"]) if letter.get("key") else None
            value = base64.b64decode(letter["value"])
            headers = [(h["key"], base64.b64decode(h["value"] or "")) for h in letter.get("headers", [])]
            headers = [(k, v) for k, v in headers if k != REPLAY_HEADER]
            origin = f"{record.topic}:{record.partition}:{record.offset}".encode()
            headers.append((REPLAY_HEADER, origin))
            summary.replayed[source] += 1
            if not dry_run:
                pending.append(await producer.send(source, value, key=key, headers=headers))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    log.info("replay: read %d dead letters, replayed %s, skipped %s", summary.read, dict(summary.replayed),
             dict(summary.skipped))
    return summary
