"""Getting stage outcomes onto topics: outputs to the next topic, failures to the DLQ, delivery awaited.

Offsets are committed by Faust only after the agent body that produced these sends has finished, and the body
awaits every send's acknowledgement (``acks=all``), so a record's source offset is never committed before its
output (or dead letter) is stored by the broker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import faust

from workers import metrics
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


def never_auto_ack(stream: faust.Stream[Any]) -> None:
    """Make ``stream`` ack events only when told to (by ``take_events`` after a batch, or ``stream.ack``).

    ``take_events`` turns Faust's automatic acks off while it runs and restores the previous setting when it is
    closed (SIGTERM, rebalance). The stream's passive drainer keeps reading after that, and with automatic acks
    back on it acks every event still queued without anyone processing it: those offsets get committed and the
    records are lost (measured: 16-50 of 160 articles in the SIGTERM test). With the setting off beforehand,
    what is restored is "off", and unprocessed events are simply read again after the restart.
    """
    stream.enable_acks = False


def propagated_headers(message: SourceMessage) -> list[tuple[str, bytes]]:
    """Headers the output record inherits from its input."""
    return [(k, v) for k, v in message.headers if k.lower() in PROPAGATED_HEADERS]


async def _send(topic: faust.TopicT, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
    """Enqueue one record on the app's producer; returns the delivery future.

    Goes straight to the producer (skipping Faust's per-message ``Topic.send`` bookkeeping, which costs more than
    the send itself when an article fans out into dozens of entity records).
    """
    return await topic.app.producer.send(topic.get_topic_name(), key, value, None, None, headers)


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
    started = time.perf_counter()
    pending: list[Awaitable[Any]] = []
    outputs = failures = 0
    sent: Counter[str] = Counter()
    metrics.RECORDS_IN.labels(stage).inc(len(pairs))
    metrics.BATCH_SIZE.labels(stage).observe(len(pairs))
    for message, outcome in pairs:
        if isinstance(outcome, Failure):
            metrics.DEAD_LETTERED.labels(stage, outcome.error.code).inc()
            log_dead_letter(stage, outcome, message)
            record = dead_letter(stage, outcome, message, worker_id=worker_id, max_value_bytes=max_dlq_value_bytes)
            key = outcome.article_id.encode() if outcome.article_id else message.key
            pending.append(await _send(dlq, key, dumps(record), list(message.headers)))
            failures += 1
            continue
        headers = propagated_headers(message)
        pending.append(await _send(output, str(outcome["id"]).encode(), dumps(outcome), headers))
        outputs += 1
        sent[output.get_topic_name()] += 1
        if fanout is not None:
            topic, derive = fanout
            for derived in derive(outcome):
                pending.append(await _send(topic, str(derived["key"]).encode(), dumps(derived), headers))
                sent[topic.get_topic_name()] += 1
    if pending:
        await asyncio.gather(*pending)
    for topic_name, count in sent.items():
        metrics.RECORDS_OUT.labels(stage, topic_name).inc(count)
    now = time.time()
    metrics.STAGE_SECONDS.labels(stage, "deliver").observe(time.perf_counter() - started)
    for message, _ in pairs:
        if message.timestamp:
            seconds = message.timestamp / 1000 if message.timestamp > 1e11 else message.timestamp
            metrics.RECORD_LATENCY.labels(stage).observe(max(0.0, now - seconds))
    return outputs, failures
