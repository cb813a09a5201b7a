"""Never commit an offset whose record was not delivered: a guard around Faust's offset "gap" bookkeeping.

Faust's consumer remembers the last offset it read per partition. When the next record it reads is more than
one offset further on, it assumes the offsets in between do not exist (compaction, transaction markers) and
counts them as acknowledged, so they get committed. But Faust also jumps over records that do exist: records
fetched before a seek and delivered after it, and fetched batches cut short by a rebalance or a flow stop
(faust-streaming issues #216 and #221). Counting those as acknowledged commits records nobody processed. Such
jumps were logged right after restarts in the crash test, which lost 2 to 35 of 300 articles in about one run
in eight under load before this guard.

:class:`GapCheckingConsumer` reads again instead. On a jump it seeks the partition back to the last offset read,
so the missing records are delivered again. The record that revealed the jump is still processed, so it may be
processed twice (dedupe and at-least-once consumers absorb that). Faust's own gap handling applies only when the
same record reveals the same jump after the re-read, that is, when the offsets really do not exist.

Behind those specific guards sits a generic one, :meth:`GapCheckingConsumer.check_stalls`: a partition whose
committed offset has not moved for a while although the broker has records after it, and whose next record is
neither being processed nor acknowledged, is read again from its committed offset. Whatever path lost track of
that record, it is then delivered (at the cost of re-delivering records acknowledged after it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any
from weakref import WeakSet

import faust
from faust.transport.drivers.aiokafka import Consumer as FaustAIOKafkaConsumer
from faust.types import TP, Message
from mode import Service

from workers import metrics

log = logging.getLogger(__name__)

#: Revealing offsets remembered per partition before the memory is reset (bounds memory on odd topics).
MAX_REVEALED = 10_000
#: How often the stall check runs, and how long a partition's committed offset may stay behind records nobody
#: processes before they are read again (the commit interval is 1 s; the longest batch is seconds, and a record
#: being processed does not count as a stall however long it takes).
STALL_CHECK_EVERY_S = 2.0
STALL_AFTER_S = 10.0


class ReadOffsets(defaultdict[TP, int | None]):
    """Faust's "last offset read" per partition, which can be told to ignore the next update to one value.

    Faust's fetch loop sets the read offset after delivering each record. After a re-read seek, the record
    that revealed the jump must not move the read offset past the offsets about to be read again.
    """

    def __init__(self) -> None:
        super().__init__(lambda: None)
        #: partition -> the offset whose read-offset update is ignored once
        self.hold: dict[TP, int] = {}
        #: partition -> offset of the record being handed to the streams, and whether that completed
        self.handing: dict[TP, int] = {}
        self.handed: dict[TP, int] = {}
        #: called with (partition, offset) when a hand-out was cancelled: the record must be read again
        self.on_cancelled: Callable[[TP, int], None] | None = None

    def force(self, tp: TP, offset: int | None) -> None:
        """Set the read offset, dropping any held update for ``tp``."""
        self.hold.pop(tp, None)
        super().__setitem__(tp, offset)

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        if offset is not None and self.handing.get(tp) == offset:
            # Faust's fetch loop, after handing out this record: it cancels the hand-out when its flow is
            # suspended, and moves the read offset on anyway.
            del self.handing[tp]
            if self.handed.get(tp) != offset:
                if self.on_cancelled is not None:
                    self.on_cancelled(tp, offset)
                return
        if offset is not None and self.hold.get(tp) == offset:
            del self.hold[tp]
            return
        super().__setitem__(tp, offset)


class GapCheckingConsumer(FaustAIOKafkaConsumer):
    """Faust's aiokafka consumer, re-reading skipped offsets instead of committing them unprocessed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Faust's read offsets, replaced by a :class:`ReadOffsets` (typed here; Faust's attribute is a mapping)
        self._reads = ReadOffsets()
        self._read_offset = self._reads
        self._reads.on_cancelled = self._hand_out_cancelled
        self._hand_out = self.callback
        self.callback = self._handing_out
        #: offsets of records that revealed a jump and caused a re-read, per partition
        self._revealed: defaultdict[TP, set[int]] = defaultdict(set)
        #: the latest re-read per partition: (first skipped offset, offset of the record that revealed it)
        self._episodes: dict[TP, tuple[int, int]] = {}
        #: first and last offset per partition of the batch being delivered by ``getmany``
        self._fetched: dict[TP, tuple[int, int]] = {}
        #: topics whose records are acked only once an agent took them (see :meth:`ack`)
        self._guarded: set[str] = set()
        #: records taken by an agent and not yet acked
        self._taken: WeakSet[Message] = WeakSet()
        #: guarded partition -> the offset from which commits must be backed by processed records
        self._base: dict[TP, int] = {}
        #: guarded partition -> offsets at or after its base that an agent processed (or that do not exist)
        self._done: defaultdict[TP, set[int]] = defaultdict(set)
        #: partition -> (committed offset, monotonic time it was first seen with records after it unprocessed)
        self._suspects: dict[TP, tuple[int, float]] = {}
        self.stall_after = STALL_AFTER_S
        self.request_timeout = float(self.app.conf.broker_request_timeout)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Called by Faust's fetch loop when the record at ``offset_to`` follows ``offset_from - 1``."""
        revealed = self._revealed[tp]
        if offset_to in revealed:
            # The same jump after reading again: these offsets do not exist (compaction, transaction markers).
            revealed.difference_update([offset for offset in revealed if offset <= offset_to])
            log.info("offsets %d-%d of %s/%d do not exist; skipping them", offset_from, offset_to - 1,
                     tp.topic, tp.partition)
            await super()._add_gap(tp, offset_from, offset_to)
            if tp.topic in self._guarded:
                self._done[tp].update(range(offset_from, offset_to))
            return
        if len(revealed) >= MAX_REVEALED:
            revealed.clear()
        revealed.add(offset_to)
        # From the last offset read, not the first missing one: right after a seek to the committed offsets,
        # Faust's "last read" is the committed offset, which is the next record to read, not one already read.
        # Reading it again costs at most one duplicate.
        rewind = max(offset_from - 1, 0)
        if not self._seek_back(tp, rewind, logging.WARNING):
            return
        self._reads.hold[tp] = offset_to
        # Records still queued from the same fetch each reveal the same jump, a little longer: one episode.
        previous = self._episodes.get(tp)
        self._episodes[tp] = (offset_from, offset_to)
        if previous is not None and previous[0] == offset_from:
            metrics.OFFSETS_REREAD.labels(tp.topic).inc(max(offset_to - previous[1], 0))
            return
        metrics.OFFSETS_REREAD.labels(tp.topic).inc(offset_to - offset_from)
        log.warning(
            "the consumer skipped offsets %d-%d of %s/%d without delivering them; reading them again",
            offset_from, offset_to - 1, tp.topic, tp.partition,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": rewind},
        )

    async def _handing_out(self, message: Message) -> None:
        """Faust's per-record callback (to the streams), noting whether the hand-out completed."""
        self._reads.handing[message.tp] = message.offset
        await self._hand_out(message)
        self._reads.handed[message.tp] = message.offset

    def _hand_out_cancelled(self, tp: TP, offset: int) -> None:
        """A record's hand-out to the streams was cancelled: read it again (its read offset did not move)."""
        if not self._seek_back(tp, offset):
            return
        metrics.OFFSETS_REREAD.labels(tp.topic).inc()
        log.info("handing offset %d of %s/%d to the agents was cancelled; reading it again", offset, tp.topic,
                 tp.partition, extra={"topic": tp.topic, "partition": tp.partition, "offset": offset})

    def _seek_back(self, tp: TP, offset: int, failure_level: int = logging.DEBUG) -> bool:
        """Move the client's fetch position of ``tp`` to ``offset``; ``False`` if the partition is gone."""
        try:
            self._thread.seek(tp, offset)
        except Exception:  # revoked or stopping meanwhile: the next owner reads from the committed offset
            log.log(failure_level, "could not seek %s/%d back to %d to read records again", tp.topic, tp.partition,
                    offset, exc_info=True)
            return False
        return True

    def guard_topic(self, topic: str) -> None:
        """Refuse acks for ``topic``'s records that were not taken by an agent (see :meth:`ack`)."""
        self._guarded.add(topic)

    def take(self, message: Message) -> None:
        """Record that an agent took ``message`` for processing (its ack then means it was processed)."""
        self._taken.add(message)

    def ack(self, message: Message) -> bool:
        """Faust's ack, refused for records of a guarded topic that no agent took: they are read again.

        Faust's stream skips a record it reads while its flow control is paused or whose fetch belongs to an
        older group generation, and acks it anyway ("otherwise the lag would increase"). Its offset would be
        committed although nobody processed the record, and nothing would read it again: a silent loss, seen
        after restarts in the crash test. The same happens to records still queued when a worker stops.
        """
        if message.topic in self._guarded:
            if message not in self._taken:
                if not message.acked:
                    self._refuse(message)
                return False
            self._done[message.tp].add(message.offset)
        return super().ack(message)

    def _refuse(self, message: Message) -> None:
        message.acked = True  # never counted: its offset stays uncommitted until a copy is processed
        self._unacked_messages.discard(message)  # nothing waits for it on a rebalance or shutdown
        tp, offset = message.tp, message.offset
        last_read = self._reads.get(tp)
        if last_read is None or last_read >= offset:
            self._reads.force(tp, offset - 1 if offset > 0 else None)
            if not self._seek_back(tp, offset):
                return
        metrics.OFFSETS_REREAD.labels(tp.topic).inc()
        log.info("Faust skipped offset %d of %s/%d without handing it to the agent; reading it again", offset,
                 tp.topic, tp.partition, extra={"topic": tp.topic, "partition": tp.partition, "offset": offset})

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        """Fetch as Faust does, remembering which offsets were fetched for each partition."""
        records = await super()._getmany(active_partitions, timeout)
        self._fetched = {tp: (batch[0].offset, batch[-1].offset) for tp, batch in records.items() if batch}
        return records

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's ``getmany``, then a seek back for records it fetched but did not deliver.

        Faust stops delivering a fetched batch when the flow stops or the generation changes, and drops records
        of partitions paused since the fetch, while the client's position has already moved past them. The
        next fetch would start after them; a record at the end of a partition would wait for a restart.
        """
        self._fetched = {}
        delivered: dict[TP, int] = {}
        generation = self.app.consumer_generation_id
        try:
            async for tp, message in super().getmany(timeout):
                delivered[tp] = message.offset
                yield tp, message
        finally:
            if self.app.consumer_generation_id == generation:
                await self._reread_undelivered(delivered)
            else:  # a rebalance: Faust seeks every assigned partition to its committed offset
                self._fetched = {}

    async def _reread_undelivered(self, delivered: dict[TP, int]) -> None:
        fetched, self._fetched = self._fetched, {}
        if not fetched:
            return
        assigned = self.assignment()
        for tp, (first, last) in fetched.items():
            done = delivered.get(tp)
            start = first if done is None else done + 1
            if start > last or tp not in assigned or not self._seek_back(tp, start):
                continue
            metrics.OFFSETS_REREAD.labels(tp.topic).inc(last - start + 1)
            log.info("the consumer fetched offsets %d-%d of %s/%d but did not deliver them; reading them again",
                     start, last, tp.topic, tp.partition,
                     extra={"topic": tp.topic, "partition": tp.partition, "offset": start})

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next offset to commit, but never past an unacknowledged record at the committed offset.

        Faust tolerates a head gap of one: with offsets committed up to 20 and 21-22 acknowledged but 20 not,
        it commits 23 (it mixes up "next offset to read" and "last offset read"). For a guarded topic that
        record is one being read again or lost track of, so the commit waits for it (or for Faust's gap
        bookkeeping to say it does not exist).
        """
        if tp.topic in self._guarded:
            acked = self._acked.get(tp)
            committed = self._committed_offset.get(tp)
            if acked and committed is not None:
                gap = self._gap.get(tp)
                first = min(acked)
                if gap:
                    first = min(first, gap.begin())
                if first > committed:
                    return None
        return super()._new_offset(tp)

    @Service.task
    async def _stall_watchdog(self) -> None:
        """Run :meth:`check_stalls` every few seconds while the consumer runs."""
        failing = False
        async for _ in self.itertimer(STALL_CHECK_EVERY_S, name="wirestream-stall-check"):
            try:
                await self.check_stalls()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker away: say so once, the next checks retry quietly
                log.log(logging.DEBUG if failing else logging.WARNING,
                        "the stalled-partition check failed (%s: %s); retrying every %.0fs", type(exc).__name__, exc,
                        STALL_CHECK_EVERY_S)
                failing = True
            else:
                failing = False

    async def check_stalls(self, now: float | None = None) -> list[TP]:
        """Read a guarded partition again from its committed offset if the record there was lost track of.

        A partition is stalled when the broker has records at or after its committed offset, no record at or
        below that offset is being processed, and the committed offset has not moved for :attr:`stall_after`
        seconds while the flow was active. Whatever skipped that record (a Faust path none of the specific
        guards knows), nothing would deliver it before a restart. Returns the partitions read again.
        """
        now = time.monotonic() if now is None else now
        if not self.flow_active or self.app.rebalancing or self.should_stop:
            self._suspects.clear()
            return []
        tps = [tp for tp in self.assignment() if tp.topic in self._guarded and tp not in self._paused_partitions]
        lowest_pending: dict[TP, int] = {}
        for message in list(self._unacked_messages):
            if not message.acked and message.offset < lowest_pending.get(message.tp, message.offset + 1):
                lowest_pending[message.tp] = message.offset
        # Faust keeps "nothing committed" and 0 alike as None: reading starts at the partition's earliest offset,
        # which perform_seek already put in the commit cap's base (the broker is asked only if that failed).
        committed_at = {tp: self._committed_offset.get(tp) for tp in tps}
        committed_at.update({tp: self._base.get(tp) for tp, committed in committed_at.items() if committed is None})
        never = [tp for tp, committed in committed_at.items() if committed is None]
        if never:
            committed_at.update(await asyncio.wait_for(self.earliest_offsets(*never), self.request_timeout))
        candidates: dict[TP, int] = {}
        for tp, committed in committed_at.items():
            pending = lowest_pending.get(tp)
            if committed is None or (pending is not None and pending <= committed):
                self._suspects.pop(tp, None)
            else:
                candidates[tp] = committed
        for tp in set(self._suspects) - set(candidates):
            del self._suspects[tp]
        if not candidates:
            return []
        ends = await asyncio.wait_for(self.highwaters(*candidates), self.request_timeout)
        stalled: list[TP] = []
        for tp, committed in candidates.items():
            end = ends.get(tp)
            if end is None or committed >= end:
                self._suspects.pop(tp, None)
                continue
            seen = self._suspects.get(tp)
            if seen is None or seen[0] != committed:
                self._suspects[tp] = (committed, now)
            elif now - seen[1] >= self.stall_after:
                self._suspects[tp] = (committed, now)
                if self._read_again_from_committed(tp, committed, end, now - seen[1]):
                    stalled.append(tp)
        return stalled

    def _read_again_from_committed(self, tp: TP, committed: int, end: int, waited: float) -> bool:
        read = self._reads.get(tp)
        if not self._seek_back(tp, committed, logging.WARNING):
            return False
        self._reads.force(tp, committed - 1 if committed > 0 else None)
        self._reads.handing.pop(tp, None)
        self._revealed.pop(tp, None)
        self._episodes.pop(tp, None)
        metrics.OFFSETS_REREAD.labels(tp.topic).inc(end - committed)
        log.warning(
            "%s/%d: committed offset %d has not moved for %.0fs although records up to %d are on the broker and "
            "record %d is neither being processed nor acknowledged (last offset read: %s); reading them again "
            "from %d",
            tp.topic, tp.partition, committed, waited, end - 1, committed, read, committed,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": committed},
        )
        return True

    def _filter_committable_offsets(self, tps: Any) -> dict[TP, int]:
        """Faust's offsets to commit, each guarded one capped at the first record no agent processed.

        Whatever path made Faust count a record as acknowledged without an agent having processed it, its
        offset is not committed: the commit stops just before it, and the stall check reads it again.
        """
        offsets: dict[TP, int] = super()._filter_committable_offsets(tps)
        for tp, offset in list(offsets.items()):
            base = self._base.get(tp)
            if base is None or tp.topic not in self._guarded:
                continue
            done = self._done[tp]
            mark = base
            while mark < offset and mark in done:
                mark += 1
            if mark < offset:
                log.warning(
                    "Faust would commit %s/%d up to offset %d, but record %d was not processed; committing up to "
                    "%d only", tp.topic, tp.partition, offset, mark, mark,
                    extra={"topic": tp.topic, "partition": tp.partition, "offset": mark},
                )
                if mark > base:
                    offsets[tp] = mark
                else:
                    del offsets[tp]
            self._advance_base(tp, offsets.get(tp, base))
        return offsets

    def _advance_base(self, tp: TP, base: int) -> None:
        self._base[tp] = base
        done = self._done[tp]
        if done:
            self._done[tp] = {offset for offset in done if offset >= base}

    async def perform_seek(self) -> None:
        """Seek to the committed offsets (after a rebalance): earlier re-read bookkeeping no longer applies."""
        self._reads.hold.clear()
        self._revealed.clear()
        self._episodes.clear()
        await super().perform_seek()
        assigned = [tp for tp in self.assignment() if tp.topic in self._guarded]
        self._base = {tp: base for tp, base in self._base.items() if tp in assigned}
        unknown = []
        for tp in assigned:
            committed = self._committed_offset.get(tp)
            if committed is None:  # nothing committed yet (or 0, which Faust also keeps as None)
                unknown.append(tp)
            else:
                self._advance_base(tp, committed)
        if unknown:
            try:
                earliest = await asyncio.wait_for(self.earliest_offsets(*unknown), self.request_timeout)
            except Exception as exc:  # noqa: BLE001 - then these partitions keep Faust's own commit bookkeeping
                log.warning("could not read the earliest offsets of %s (%s); their commits are not capped",
                            sorted(unknown), exc)
                for tp in unknown:
                    self._base.pop(tp, None)
            else:
                for tp in unknown:
                    if earliest.get(tp) is not None:
                        self._advance_base(tp, earliest[tp])


def guard_offsets(app: faust.App) -> None:
    """Make ``app`` create a :class:`GapCheckingConsumer` (call before the worker starts)."""
    transport = app.transport
    if not issubclass(transport.Consumer, FaustAIOKafkaConsumer):
        raise TypeError(f"unexpected Faust consumer {transport.Consumer!r}: only the aiokafka driver is supported")
    setattr(transport, "Consumer", GapCheckingConsumer)  # noqa: B010 (a ClassVar, replaced on this instance)


def take(event: faust.EventT) -> None:
    """An agent takes ``event`` for processing: hold its offset until :meth:`faust.Stream.ack` releases it.

    The extra reference keeps Faust from committing the offset before the agent's outputs are acknowledged;
    marking it taken lets :meth:`GapCheckingConsumer.ack` tell it apart from records Faust skipped.
    """
    message = event.message
    message.incref()
    consumer = event.app.consumer
    if isinstance(consumer, GapCheckingConsumer):
        consumer.take(message)


def guard_topic(app: faust.App, topic: faust.TopicT) -> None:
    """Records of ``topic`` count as processed only once an agent took them with :func:`take`."""
    consumer = app.consumer
    if isinstance(consumer, GapCheckingConsumer):
        consumer.guard_topic(topic.get_topic_name())
