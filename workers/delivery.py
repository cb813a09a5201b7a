"""Getting stage outcomes onto topics: outputs to the next topic, failures to the DLQ, delivery awaited.

Offsets are committed by Faust only after the agent body that produced these sends has finished, and the body
awaits every send's acknowledgement (``acks=all``), so a record's source offset is never committed before its
output (or dead letter) is stored by the broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import faust

from workers.dlq import Failure, SourceMessage, Stage, dead_letter, headers_from, log_dead_letter
from workers.records import dumps

log = logging.getLogger(__name__)

#: Headers copied from an input record to its output (W3C trace context travels raw -> clean -> enriched).
PROPAGATED_HEADERS = frozenset({"traceparent", "tracestate"})


def source_message(event: faust.EventT) -> SourceMessage:
    """The original bytes and coordinates of a Faust event."""
    msg = event.message
    return SourceMessage(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key if isinstance(msg.key, bytes | None) else str(msg.key).encode(),
        value=msg.value if isinstance(msg.value, bytes | None) else str(msg.value).encode(),
        headers=headers_from(msg.headers),
        timestamp=msg.timestamp,
    )


def propagated_headers(message: SourceMessage) -> list[tuple[str, bytes]]:
    """Headers the output record inherits from its input."""
    return [(k, v) for k, v in message.headers if k.lower() in PROPAGATED_HEADERS]


async def deliver(
    stage: Stage,
    pairs: Sequence[tuple[SourceMessage, Mapping[str, Any] | Failure]],
    *,
    output: faust.TopicT,
    dlq: faust.TopicT,
    worker_id: str,
    max_dlq_value_bytes: int,
    fanout: tuple[faust.TopicT, Callable[[Mapping[str, Any]], list[dict[str, Any]]]] | None = None,
) -> tuple[int, int]:
    """Send each outcome (record to ``output`` keyed by article id, failure to ``dlq``) and await every ack.

    ``fanout=(topic, derive)`` also sends ``derive(record)`` to ``topic`` for each good record, each keyed by its
    ``key`` field (entity records, keyed by entity). Returns ``(outputs, dead_letters)`` counts.
    """
    pending: list[Awaitable[Any]] = []
    outputs = failures = 0
    for message, outcome in pairs:
        if isinstance(outcome, Failure):
            log_dead_letter(stage, outcome, message)
            record = dead_letter(
                stage, outcome, message, worker_id=worker_id, max_value_bytes=max_dlq_value_bytes
            )
            key = outcome.article_id.encode() if outcome.article_id else message.key
            pending.append(await dlq.send(key=key, value=dumps(record), headers=list(message.headers), force=True))
            failures += 1
        else:
            pending.append(
                await output.send(
                    key=str(outcome["id"]).encode(),
                    value=dumps(outcome),
                    headers=propagated_headers(message),
                    force=True,
                )
            )
            outputs += 1
            if fanout is not None:
                topic, derive = fanout
                for derived in derive(outcome):
                    pending.append(
                        await topic.send(
                            key=str(derived["key"]).encode(),
                            value=dumps(derived),
                            headers=propagated_headers(message),
                            force=True,
                        )
                    )
    if pending:
        await asyncio.gather(*pending)
    return outputs, failures
