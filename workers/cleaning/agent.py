"""The thin Faust agents around the cleaning stage: articles.raw -> articles.clean (failures -> articles.dlq).

With ``WIRESTREAM_LEARNED_ENABLED`` (the default) the clean worker also learns boilerplate per source (see
:mod:`workers.cleaning.learned` for the design): the ``clean`` agent reads the learned-boilerplate GlobalTable
while cleaning and sends one observation per source and batch to an internal topic keyed by source; the
``learn-boilerplate`` agent, the single writer of each source, counts them into the table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, cast

import faust
import orjson
from aiokafka.partitioner import murmur2

from workers import metrics
from workers.app import LearnedState, Topics, declare_learned_state
from workers.cleaning.learned import (
    ArticleLines,
    LearnedLimits,
    SourceLines,
    article_digest,
    decode_observation,
    decode_state,
    encode_observation,
    encode_state,
    fingerprint,
    learned_fingerprints,
    observe,
    source_key,
    sources_per_partition,
    sources_to_evict,
)
from workers.cleaning.stage import CleanOptions, clean_articles
from workers.delivery import deliver, never_auto_ack, source_message
from workers.dlq import Failure, SourceMessage
from workers.offsets import guard_topic, take
from workers.settings import Settings

log = logging.getLogger(__name__)

Outcome = dict[str, Any] | Failure
#: Reads one source's encoded state from the table (``None`` when the source is unknown).
StateReader = Callable[[str], bytes | None]


def clean_batch(messages: Sequence[SourceMessage], options: CleanOptions) -> list[tuple[SourceMessage, Outcome]]:
    """Clean a batch of raw messages (runs in the worker's executor, off the event loop)."""
    return list(zip(messages, clean_articles(messages, options), strict=True))


@dataclass(slots=True)
class LearningBatch:
    """A cleaned batch plus what it teaches: per source, the lines of each good article."""

    pairs: list[tuple[SourceMessage, Outcome]]
    observations: dict[str, list[ArticleLines]] = field(default_factory=dict)


def limits_from(settings: Settings) -> LearnedLimits:
    """The learning thresholds of the settings."""
    return LearnedLimits(
        min_articles=settings.learned_min_articles,
        half_life_s=settings.learned_half_life_s,
        max_lines=settings.learned_max_lines,
        max_sources=settings.learned_max_sources,
    )


def message_time(message: SourceMessage) -> float:
    """The record's timestamp in epoch seconds (now when it has none)."""
    stamp = message.timestamp
    if not stamp:
        return time.time()
    return stamp / 1000 if stamp > 1e11 else float(stamp)


def peek_source(message: SourceMessage, max_bytes: int) -> str | None:
    """The learning key of a raw message (envelope ``source`` or URL host), without validating it.

    Bare text/HTML values carry no source, so they are cleaned without learning.
    """
    value = message.value
    if not value or len(value) > max_bytes:
        return None
    stripped = value.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] != b"{":
        return None
    try:
        raw = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None
    return source_key(raw) if isinstance(raw, dict) else None


def clean_batch_learning(
    messages: Sequence[SourceMessage], options: CleanOptions, read_state: StateReader, limits: LearnedLimits
) -> LearningBatch:
    """Clean a batch using what was learned per source, and collect what the batch teaches.

    Runs in the executor: ``read_state`` only reads the table (a dict lookup), it never writes.
    Adds ``stats.learned_removed``: distinct lines recognised as learned boilerplate and left out of the body.
    """
    batch = LearningBatch(pairs=[])
    known_by_source: dict[str, frozenset[str]] = {}
    checks: list[Callable[[str], bool] | None] = []
    learning: list[tuple[str, float, dict[str, bool], set[str]] | None] = []
    for message in messages:
        source = peek_source(message, options.max_content_bytes)
        if source is None:
            checks.append(None)
            learning.append(None)
            continue
        at = message_time(message)
        if source not in known_by_source:
            known_by_source[source] = learned_fingerprints(decode_state(read_state(source)), at, limits)
        known = known_by_source[source]
        seen: dict[str, bool] = {}
        matched: set[str] = set()

        def is_learned(line: str, known: frozenset[str] = known, seen: dict[str, bool] = seen,
                       matched: set[str] = matched) -> bool:
            fp = fingerprint(line)
            hit = fp in known
            seen[fp] = hit
            if hit:
                matched.add(line)
            return hit

        checks.append(is_learned)
        learning.append((source, at, seen, matched))
    outcomes = clean_articles(messages, options, is_known_boilerplate=checks)
    for message, outcome, learnt in zip(messages, outcomes, learning, strict=True):
        if learnt is not None and isinstance(outcome, dict):
            source, at, seen, matched = learnt
            body = set(outcome["body"])
            outcome["stats"]["learned_removed"] = sum(1 for line in matched if line not in body)
            article = ArticleLines(article_digest(str(outcome["id"])), at, tuple(seen))
            batch.observations.setdefault(source, []).append(article)
        batch.pairs.append((message, outcome))
    return batch


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives ``key``: where its observations go."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def register_learn_agent(app: faust.App, learned: LearnedState, settings: Settings) -> Any:
    """Attach the agent that counts observations into the learned-boilerplate table (one writer per source).

    The agent keeps the states it writes in memory (``owned``) and reads them from there, not from the table:
    every instance also consumes the GlobalTable's changelog, its own writes included, and that echo can put
    an older value back into the table for a moment. Reading the table there would lose updates; readers of the
    table (the clean agent) may see the older value until the echo of the latest write arrives. ``owned`` is
    bounded like the table (it holds the sources of this instance's partitions) and cleared on a rebalance.
    """
    limits = limits_from(settings)
    table = learned.table
    keep = sources_per_partition(limits, settings.partitions)
    owned: dict[bytes, SourceLines] = {}

    @app.on_partitions_revoked.connect
    def _forget_owned(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        owned.clear()

    async def write(key: bytes, value: bytes | None, partition: int) -> None:
        """Set (or with ``None`` delete) ``key`` in the table and its changelog partition ``partition``."""
        if not settings.learned_single_record_batches:
            if value is None:
                del table[key]
            else:
                table[key] = value  # Faust's path: buffered changelog send, batched with the next writes
            return
        # One changelog record per produce batch: Tansu reports wrong end offsets for multi-record batches, and
        # Faust's recovery would stop short of the last records. So send the record straight to the producer and
        # await its ack before the next write (this agent is the changelog's only writer). It also means a
        # write is stored before the observation's offset can be committed.
        if value is None:
            table.data.pop(key, None)
        else:
            table.data[key] = value
        changelog = table.changelog_topic.get_topic_name()
        await (await app.producer.send(changelog, key, value, partition, None, []))

    def state_of(key: bytes) -> SourceLines:
        if key not in owned:
            owned[key] = decode_state(table.get(key))
        return owned[key]

    async def make_room(key: bytes, partition: int) -> None:
        """Evict the least recently seen sources of ``partition`` so that ``key`` fits."""
        keys = set(table.keys()) | set(owned)
        mine = {k: state_of(k).seen_at for k in keys if k != key and partition_of(k, settings.partitions) == partition}
        for evicted in sources_to_evict(mine, keep, incoming=key):
            log.info("learned boilerplate: forgetting source %r (table full)", evicted.decode(errors="replace"))
            owned.pop(evicted, None)
            if evicted in table:
                await write(evicted, None, partition)

    @app.agent(learned.observations, name="learn-boilerplate")
    async def learn(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            parsed = decode_observation(event.value)
            if parsed is None:
                log.warning("learned boilerplate: ignoring a malformed observation at offset %s", event.message.offset)
                continue
            source, articles = parsed
            key = source.encode()
            try:
                is_new = key not in owned and key not in table
                state = state_of(key)
                counted = [observe(state, article, limits) for article in articles]
                if not any(counted):
                    continue
                if is_new:
                    await make_room(key, event.message.partition)
                await write(key, encode_state(state), event.message.partition)
            except Exception:
                owned.pop(key, None)  # re-read from the table next time rather than trust a half-applied state
                log.exception("learned boilerplate: could not count an observation of %r", source)

    return learn


def register_clean_agent(app: faust.App, topics: Topics, settings: Settings, executor: Executor) -> Any:
    """Attach the cleaning agent to ``app``; it consumes ``topics.raw`` in batches.

    With learning enabled, also declares the learned-boilerplate table and registers the learn agent
    (``app.agents["learn-boilerplate"]``).
    """
    options = CleanOptions(max_content_bytes=settings.max_content_bytes)
    learned = declare_learned_state(app, settings) if settings.learned_enabled else None
    if learned is not None:
        register_learn_agent(app, learned, settings)
    limits = limits_from(settings)

    async def learn_from(batch: LearningBatch) -> None:
        """Send the batch's observations (one record per source, keyed by source) and await their acks."""
        if learned is None or not batch.observations:
            return
        name = learned.observations.get_topic_name()
        pending = [
            await app.producer.send(name, source.encode(), encode_observation(source, articles), None, None, [])
            for source, articles in batch.observations.items()
        ]
        await asyncio.gather(*pending)

    async def process(source: faust.Stream[bytes], events: Sequence[faust.EventT]) -> None:
        """Clean, teach, deliver and await the acks of one batch; then release its events for commit."""
        loop = asyncio.get_running_loop()
        messages = [source_message(event) for event in events]
        started = time.perf_counter()
        if learned is None:
            pairs = await loop.run_in_executor(executor, clean_batch, messages, options)
            batch = LearningBatch(pairs=pairs)
        else:
            table = learned.table

            def read_state(source: str, table: Any = table) -> bytes | None:
                value: bytes | None = table.data.get(source.encode())
                return value

            batch = await loop.run_in_executor(executor, clean_batch_learning, messages, options, read_state, limits)
        metrics.STAGE_SECONDS.labels("clean", "process").observe(time.perf_counter() - started)
        # Observations are acknowledged before the batch's offsets can be committed (at least once; a
        # replayed article is not counted twice).
        await learn_from(batch)
        outputs, failures = await deliver(
            "clean",
            batch.pairs,
            output=topics.clean,
            dlq=topics.dlq,
            worker_id=settings.worker_id,
            max_dlq_value_bytes=settings.dlq_max_value_bytes,
        )
        for event in events:
            await source.ack(event)  # drop the extra reference: committable once take_events acks it too
        log.info("cleaned batch of %d: %d out, %d dead-lettered", len(messages), outputs, failures)

    guard_topic(app, topics.raw)

    @app.agent(topics.raw, name="clean")
    async def clean(stream: faust.StreamT[bytes]) -> None:
        source = cast(faust.Stream[bytes], stream)
        never_auto_ack(source)
        # take_events (not take) keeps each value's topic/partition/offset/headers for the DLQ.
        async for events in source.take_events(settings.batch_size, within=settings.batch_window_s):
            # Faust acks a batch's events when the loop moves on, and also when the agent is cancelled mid-batch
            # (SIGTERM, rebalance): an extra reference per event keeps an unfinished batch from being committed.
            for event in events:
                take(event)
            batch = asyncio.ensure_future(process(source, events))
            try:
                await asyncio.shield(batch)
            finally:
                # Stopping: finish the batch in flight (its outputs acked, its events released) before leaving.
                if not batch.done():
                    await asyncio.shield(batch)

    return clean
