"""The thin Faust agent around the tagging stage: articles.clean -> articles.enriched (failures -> DLQ)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, cast

import faust

from workers import metrics
from workers.app import Topics
from workers.dedupe import Claim, Deduplicator
from workers.delivery import deliver, never_auto_ack, source_message
from workers.offsets import guard_topic, take
from workers.settings import Settings
from workers.tagging.runtime import Recognition, Tagger
from workers.tagging.stage import entity_records

log = logging.getLogger(__name__)


async def _finish_batch(
    previous: asyncio.Task[None] | None,
    stream: faust.Stream[bytes],
    events: Sequence[faust.EventT],
    recognising: asyncio.Future[Recognition],
    tagger: Tagger,
    topics: Topics,
    settings: Settings,
    claimed: Claims,
) -> None:
    """Wait for the model's answer and for the previous batch, assemble, deliver, await acks, release events.

    ``claimed`` are the batch's fingerprints for deduplication: those whose article was delivered are
    remembered (after the outputs' acks, before the events are released); dead-lettered ones are not, so a
    replay after a fix is processed.

    Any failure here ends the worker with a non-zero exit: the batch's events were not released, so their
    offsets are not committed and the records are processed again after a restart.
    """
    started = time.perf_counter()
    try:
        recognition = await recognising
        tagged = time.perf_counter()
        if previous is not None:
            await previous  # keep outputs in input order
        pairs = await tagger.assemble(recognition)
        outputs, failures = await deliver(
            "tag",
            pairs,
            output=topics.enriched,
            dlq=topics.dlq,
            worker_id=settings.worker_id,
            max_dlq_value_bytes=settings.dlq_max_value_bytes,
            fanout=(topics.entities, entity_records),
        )
        if claimed.dedupe is not None:
            delivered = {(m.partition, m.offset) for m, outcome in pairs if isinstance(outcome, dict)}
            await claimed.dedupe.settle(claimed.fingerprints, delivered)
        if claimed.originals and not all(await asyncio.gather(*claimed.originals)):
            # A skipped duplicate's original was abandoned: the duplicate is the only copy left, and it must
            # not be committed unprocessed. Exiting leaves its offset uncommitted, so it is read again.
            log.critical("a batch this one's duplicates relied on was abandoned; exiting so they are read again")
            os._exit(72)
        for event in events:
            await stream.ack(event)
    except asyncio.CancelledError:
        # Abandoned (the worker is stopping): nothing was committed; later copies of these articles must be
        # processed, not skipped as in flight.
        if claimed.dedupe is not None:
            claimed.dedupe.release(claimed.fingerprints.values())
        raise
    except BrokenProcessPool:
        log.critical("the spaCy child process died; exiting so a supervisor restarts this worker")
        os._exit(70)
    except Exception:
        log.critical("tagging or delivering a batch failed; exiting so a supervisor restarts this worker",
                     exc_info=True)
        os._exit(71)
    done = time.perf_counter()
    metrics.STAGE_SECONDS.labels("tag", "process").observe(tagged - started)
    log.info(
        "tagged batch of %d: %d out, %d dead-lettered, %d duplicate(s) skipped; "
        "waited %.3fs for the model, %.3fs to assemble and deliver",
        len(events), outputs, failures, claimed.skipped, tagged - started, done - tagged,
    )


@dataclass(slots=True)
class Claims:
    """One batch's deduplication state: fingerprints to remember once delivered, and how many were skipped."""

    dedupe: Deduplicator | None
    #: fresh claims by input (partition, offset): remembered once delivered
    fingerprints: dict[tuple[int, int], Claim] = field(default_factory=dict)
    #: outcomes of the batches in flight that this batch's skipped duplicates rely on
    originals: list[asyncio.Future[bool]] = field(default_factory=list)
    skipped: int = 0


def claim_batch(events: Sequence[faust.EventT], dedupe: Deduplicator | None) -> tuple[list[faust.EventT], Claims]:
    """Split a batch into the events to tag and the duplicates to skip (logged and counted, acked with the batch)."""
    claims = Claims(dedupe)
    if dedupe is None:
        return list(events), claims
    fresh: list[faust.EventT] = []
    for event in events:
        msg = event.message
        claim = dedupe.claim(msg.value if isinstance(msg.value, bytes) else None, msg.partition)
        if claim.duplicate:
            if claim.outcome is not None:
                claims.originals.append(claim.outcome)
            claims.skipped += 1
            metrics.DUPLICATES_SKIPPED.labels("tag").inc()
            reason = "is being tagged by a batch in flight" if claim.outcome else "was already tagged"
            log.info("skipping a duplicate: this article %s with the same content", reason,
                     extra={"article_id": _key_text(msg.key), "topic": msg.topic, "partition": msg.partition,
                            "offset": msg.offset})
            continue
        if claim.fingerprint is not None:
            claims.fingerprints[(msg.partition, msg.offset)] = claim
        fresh.append(event)
    return fresh, claims


def _key_text(key: object) -> str | None:
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return None if key is None else str(key)


def register_tag_agent(
    app: faust.App, topics: Topics, settings: Settings, tagger: Tagger, dedupe: Deduplicator | None = None
) -> Any:
    """Attach the tagging agent to ``app``: batches of ``settings.batch_size`` within ``batch_window_s``.

    The model never waits for the stream: each batch is queued on the tagger as soon as it is taken, while
    earlier batches are still being recognised, assembled and delivered (at most :data:`IN_FLIGHT` batches).
    Each event holds an extra reference until its batch's outputs are acknowledged, so its offset becomes
    committable only then (at-least-once), and outputs keep input order. With ``dedupe``, an article already
    delivered with the same content (redelivered after a crash, or published twice) is skipped.
    """

    guard_topic(app, topics.clean)

    @app.agent(topics.clean, name="tag")
    async def tag(stream: faust.StreamT[bytes]) -> None:
        # take_events (not take) keeps each value's topic/partition/offset/headers for the DLQ.
        source = cast(faust.Stream[bytes], stream)
        never_auto_ack(source)
        in_flight: deque[asyncio.Task[None]] = deque()
        try:
            async for events in source.take_events(settings.batch_size, within=settings.batch_window_s):
                for event in events:
                    take(event)  # held until this batch's outputs are acknowledged
                fresh, claims = claim_batch(events, dedupe)
                recognising = asyncio.ensure_future(tagger.recognise([source_message(e) for e in fresh]))
                previous = in_flight[-1] if in_flight else None
                in_flight.append(
                    asyncio.create_task(
                        _finish_batch(previous, source, events, recognising, tagger, topics, settings, claims)
                    )
                )
                while len(in_flight) >= IN_FLIGHT or (in_flight and in_flight[0].done()):
                    await asyncio.shield(in_flight.popleft())
        finally:
            # Stopping (SIGTERM/rebalance): finish what was taken, so its offsets can be committed.
            while in_flight:
                await asyncio.shield(in_flight.popleft())

    return tag


#: Batches taken but not yet delivered: one recognising, one queued for the model, one delivering.
IN_FLIGHT = 3
