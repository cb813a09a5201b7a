"""The offset guard: a jump in offsets is read again, and only skipped when it shows again after the re-read."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.transport.drivers.aiokafka import Consumer as FaustAIOKafkaConsumer
from faust.types import TP

from workers.app import create_app
from workers.offsets import GapCheckingConsumer, ReadOffsets
from workers.settings import load_settings

RAW = TP("articles.raw", 3)


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> tuple[GapCheckingConsumer, list[tuple[TP, int]]]:
    app, _ = create_app(load_settings(broker="kafka://127.0.0.1:1"), "clean")
    made = app.consumer
    assert isinstance(made, GapCheckingConsumer), "create_app installs the guard"
    seeks: list[tuple[TP, int]] = []
    # The client's fetch position (aiokafka's consumer, in Faust's consumer thread).
    monkeypatch.setattr(made, "_thread", SimpleNamespace(seek=lambda tp, offset: seeks.append((tp, offset))))
    return made, seeks


def committed_gaps(consumer: Any, tp: TP) -> list[tuple[int, int]]:
    return sorted((interval.begin, interval.end) for interval in consumer._gap[tp])


async def test_a_jump_is_read_again_instead_of_being_counted_as_acknowledged(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]],
) -> None:
    guard, seeks = consumer
    guard._read_offset[RAW] = 9  # last offset Faust read
    await guard._add_gap(RAW, 10, 14)  # Faust's fetch loop: the next record is 14
    assert seeks == [(RAW, 9)], "seeks back to the last offset read (it may be the committed, unread one)"
    assert committed_gaps(guard, RAW) == [], "nothing is counted as acknowledged"
    guard._read_offset[RAW] = 14  # the fetch loop's update after delivering record 14
    assert guard._read_offset[RAW] == 9, "the read offset stays put so that 10-13 are delivered when read again"
    guard._read_offset[RAW] = 10  # the re-read record 10 is delivered normally
    assert guard._read_offset[RAW] == 10


async def test_a_jump_that_shows_again_after_the_re_read_is_a_real_gap(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]],
) -> None:
    guard, seeks = consumer
    guard._read_offset[RAW] = 9
    await guard._add_gap(RAW, 10, 14)
    guard._read_offset[RAW] = 14
    await guard._add_gap(RAW, 10, 14)  # read again from 10, and record 14 comes first again: 10-13 do not exist
    assert seeks == [(RAW, 9)], "no second seek"
    assert committed_gaps(guard, RAW) == [(10, 15)], "Faust's own gap handling applies"
    guard._read_offset[RAW] = 14
    assert guard._read_offset[RAW] == 14


async def test_a_seek_to_committed_offsets_drops_pending_re_reads(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, _ = consumer
    guard._read_offset[RAW] = 9
    await guard._add_gap(RAW, 10, 14)

    async def seek_to_committed() -> dict[TP, int]:
        return {RAW: 7}

    monkeypatch.setattr(guard, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(guard, "assignment", lambda: {RAW})
    await guard.perform_seek()
    assert guard._read_offset[RAW] == 7
    guard._read_offset[RAW] = 14
    assert guard._read_offset[RAW] == 14, "no update is held back after a seek"


def test_read_offsets_default_to_none_like_fausts() -> None:
    offsets = ReadOffsets()
    assert offsets[RAW] is None
    offsets.hold[RAW] = 5
    offsets[RAW] = 4
    assert offsets[RAW] == 4 and offsets.hold == {RAW: 5}


async def test_records_queued_behind_a_jump_extend_one_episode(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], caplog: pytest.LogCaptureFixture
) -> None:
    guard, seeks = consumer
    guard._read_offset[RAW] = 9
    for revealing in (14, 15, 16):  # records 14-16 were queued from one fetch before the re-read began
        await guard._add_gap(RAW, 10, revealing)
        guard._read_offset[RAW] = revealing
    assert guard._read_offset[RAW] == 9
    assert seeks == [(RAW, 9)] * 3
    assert len([r for r in caplog.records if "reading them again" in r.getMessage()]) == 1, "one warning"
    assert committed_gaps(guard, RAW) == []


def _records(tp: TP, offsets: range) -> list[ConsumerRecord[bytes, bytes]]:
    return [ConsumerRecord(tp.topic, tp.partition, o, 0, 0, b"k", b"v", None, 1, 1, []) for o in offsets]


async def test_records_fetched_but_not_delivered_are_read_again(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, seeks = consumer
    other = TP("articles.raw", 1)

    async def fetch(self: Any, active_partitions: Any, timeout: float) -> dict[TP, list[Any]]:
        return {RAW: _records(RAW, range(20, 23)), other: _records(other, range(5, 8))}

    # Faust delivers only the partitions it considers active when the batch is handed out: raw/1 was paused
    # between the fetch and the delivery, so its fetched records are dropped, past the client's position.
    monkeypatch.setattr(FaustAIOKafkaConsumer, "_getmany", fetch)
    monkeypatch.setattr(guard, "assignment", lambda: {RAW, other})
    monkeypatch.setattr(guard, "highwater", lambda tp: 100)
    guard._active_partitions = {RAW}
    got = [(tp, message.offset) async for tp, message in guard.getmany(timeout=0.1)]
    assert got == [(RAW, 20), (RAW, 21), (RAW, 22)]
    assert seeks == [(other, 5)], "the dropped records are fetched again from the first one"


async def test_a_batch_cut_short_is_read_again_from_the_first_record_not_delivered(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, seeks = consumer

    async def fetch(self: Any, active_partitions: Any, timeout: float) -> dict[TP, list[Any]]:
        return {RAW: _records(RAW, range(20, 26))}

    monkeypatch.setattr(FaustAIOKafkaConsumer, "_getmany", fetch)
    monkeypatch.setattr(guard, "assignment", lambda: {RAW})
    monkeypatch.setattr(guard, "highwater", lambda tp: 100)
    guard._active_partitions = {RAW}
    got = []
    async for _tp, message in guard.getmany(timeout=0.1):
        got.append(message.offset)
        if message.offset == 22:
            guard.flow_active = False  # a rebalance starts: Faust stops handing out the rest of the batch
    assert got == [20, 21, 22]
    assert seeks == [(RAW, 23)]


async def test_a_record_faust_skipped_is_not_committed_but_read_again(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, seeks = consumer
    passed_on: list[int] = []
    monkeypatch.setattr(FaustAIOKafkaConsumer, "ack", lambda self, message: passed_on.append(message.offset) or True)
    guard.guard_topic(RAW.topic)
    taken, skipped = (guard._to_message(RAW, record) for record in _records(RAW, range(40, 42)))
    guard._read_offset[RAW] = 45  # the fetch loop has read further meanwhile
    guard.take(taken)
    assert guard.ack(taken) is True and passed_on == [40], "a record an agent took is acked as usual"
    # Faust's stream skips record 41 (flow paused, or an older generation) and acks it unprocessed.
    assert guard.ack(skipped) is False
    assert passed_on == [40], "its offset is not counted as processed"
    assert skipped.acked and skipped not in guard._unacked_messages, "nothing waits for it on shutdown"
    assert seeks == [(RAW, 41)] and guard._read_offset[RAW] == 40, "read again from 41"
    observations = TP("wirestream-clean-learned-observations", 0)
    other = guard._to_message(observations, _records(observations, range(7, 8))[0])
    assert guard.ack(other) is True, "topics no agent guards keep Faust's behaviour"


async def test_a_cancelled_hand_out_does_not_move_the_read_offset_and_is_read_again(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, seeks = consumer
    open_queue = asyncio.Event()
    open_queue.set()

    async def conductor(message: Any) -> None:  # blocks while the streams' flow control is paused
        await open_queue.wait()

    monkeypatch.setattr(guard, "_hand_out", conductor)
    delivered, blocked = (guard._to_message(RAW, record) for record in _records(RAW, range(30, 32)))
    guard._read_offset[RAW] = 29
    # What Faust's fetch loop does per record: hand it out (cancelled when its flow is suspended), then set.
    for message, suspended in ((delivered, False), (blocked, True)):
        if suspended:
            open_queue.clear()
        task = asyncio.ensure_future(guard.callback(message))
        await asyncio.sleep(0)
        if suspended:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        guard._read_offset[RAW] = message.offset
    assert guard._read_offset[RAW] == 30, "the cancelled record 31 does not count as read"
    assert seeks == [(RAW, 31)], "it is fetched again"


@pytest.fixture
def watched(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch
) -> tuple[GapCheckingConsumer, list[tuple[TP, int]], dict[TP, int]]:
    """The consumer with one guarded partition, ``RAW``, whose end offset (highwater) the test sets."""
    guard, seeks = consumer
    ends: dict[TP, int] = {RAW: 15}
    guard.guard_topic(RAW.topic)
    guard.flow_active = True
    monkeypatch.setattr(guard, "assignment", lambda: {RAW})

    async def highwaters(*tps: TP) -> dict[TP, int]:
        return {tp: ends[tp] for tp in tps}

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        asked.extend(tps)
        return dict.fromkeys(tps, 0)

    asked: list[TP] = []
    guard.earliest_asked = asked  # type: ignore[attr-defined]

    monkeypatch.setattr(guard, "highwaters", highwaters)
    monkeypatch.setattr(guard, "earliest_offsets", earliest_offsets)
    return guard, seeks, ends


Watched = tuple[GapCheckingConsumer, list[tuple[TP, int]], dict[TP, int]]


async def test_a_partition_whose_next_record_nobody_processes_is_read_again_from_its_committed_offset(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    guard, seeks, _ = watched
    guard._committed_offset[RAW] = 10
    guard._read_offset[RAW] = 14  # Faust believes it read up to 14, but record 10 was never processed
    assert await guard.check_stalls(now=100.0) == [], "first sight: only a suspect"
    assert await guard.check_stalls(now=100.0 + guard.stall_after - 1) == []
    assert seeks == []
    assert await guard.check_stalls(now=100.0 + guard.stall_after) == [RAW]
    assert seeks == [(RAW, 10)], "read again from the committed offset"
    assert guard._read_offset[RAW] == 9, "record 10 is then delivered, not dropped as already read"
    assert any("committed offset 10 has not moved" in r.getMessage() and "reading them again from 10" in r.getMessage()
               for r in caplog.records)
    assert await guard.check_stalls(now=100.0 + guard.stall_after + 1) == [], "then waits again before retrying"


async def test_a_partition_making_progress_or_processing_its_next_record_is_not_stalled(watched: Watched) -> None:
    guard, seeks, ends = watched
    guard._committed_offset[RAW] = 10
    await guard.check_stalls(now=0.0)
    guard._committed_offset[RAW] = 12  # progress: commits move on
    assert await guard.check_stalls(now=guard.stall_after) == []
    record = guard._to_message(RAW, _records(RAW, range(12, 13))[0])
    guard._unacked_messages.add(record)  # a long batch is processing record 12
    assert await guard.check_stalls(now=10 * guard.stall_after) == []
    guard._unacked_messages.discard(record)
    guard._committed_offset[RAW] = 15
    ends[RAW] = 15  # everything committed
    assert await guard.check_stalls(now=20 * guard.stall_after) == []
    assert await guard.check_stalls(now=30 * guard.stall_after) == []
    assert seeks == []


async def test_a_later_record_in_flight_does_not_hide_a_lost_one_before_it(watched: Watched) -> None:
    guard, seeks, _ = watched
    guard._committed_offset[RAW] = 10
    later = guard._to_message(RAW, _records(RAW, range(13, 14))[0])
    guard._unacked_messages.add(later)  # 13 is processing, 10-12 are neither processing nor acknowledged
    await guard.check_stalls(now=0.0)
    assert await guard.check_stalls(now=guard.stall_after) == [RAW]
    assert seeks == [(RAW, 10)]


async def test_no_stall_is_declared_while_the_flow_is_paused_or_for_a_partition_never_committed_and_empty(
    watched: Watched,
) -> None:
    guard, seeks, ends = watched
    guard._committed_offset[RAW] = 10
    await guard.check_stalls(now=0.0)
    guard.flow_active = False  # recovery or a rebalance: Faust holds everything back on purpose
    assert await guard.check_stalls(now=guard.stall_after) == []
    guard.flow_active = True
    assert await guard.check_stalls(now=2 * guard.stall_after) == [], "the suspicion starts over after a pause"
    del guard._committed_offset[RAW]  # never committed: the earliest offset (0) is where reading must start
    ends[RAW] = 0
    await guard.check_stalls(now=3 * guard.stall_after)
    assert await guard.check_stalls(now=5 * guard.stall_after) == []
    assert guard.earliest_asked == [RAW, RAW], "without a base from perform_seek, the broker is asked"  # type: ignore[attr-defined]
    guard._base[RAW] = 0  # what perform_seek records for a partition never committed
    ends[RAW] = 3
    await guard.check_stalls(now=6 * guard.stall_after)
    assert await guard.check_stalls(now=7 * guard.stall_after) == [RAW]
    assert seeks == [(RAW, 0)] and guard._read_offset[RAW] is None
    assert guard.earliest_asked == [RAW, RAW], "an idle partition does not cost a broker request every check"  # type: ignore[attr-defined]


def test_the_commit_waits_for_an_unacknowledged_record_at_the_committed_offset(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]],
) -> None:
    guard, _ = consumer
    guard.guard_topic(RAW.topic)
    guard._committed_offset[RAW] = 20
    guard._acked[RAW].extend([21, 22])
    assert guard._new_offset(RAW) is None, "record 20 is not acknowledged: nothing past it is committed"
    guard._acked[RAW].append(20)
    assert guard._new_offset(RAW) == 23
    guard._committed_offset[RAW] = 23
    guard._gap[RAW].addi(23, 24)  # offset 23 does not exist (Faust's gap bookkeeping, confirmed by a re-read)
    guard._acked[RAW].append(24)
    assert guard._new_offset(RAW) == 25
    unguarded = TP("wirestream-clean-learned-observations", 0)
    guard._committed_offset[unguarded] = 5
    guard._acked[unguarded].append(6)
    assert guard._new_offset(unguarded) == 7, "topics no agent guards keep Faust's behaviour"


async def test_a_commit_never_covers_a_record_no_agent_processed(
    consumer: tuple[GapCheckingConsumer, list[tuple[TP, int]]], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard, _ = consumer
    guard.guard_topic(RAW.topic)
    monkeypatch.setattr(guard, "assignment", lambda: {RAW})

    async def seek_to_committed() -> dict[TP, int]:
        return {RAW: 20}

    monkeypatch.setattr(guard, "seek_to_committed", seek_to_committed)

    def fausts_books(self: Any, message: Any) -> bool:  # what Faust's ack records for a topic with acks
        self._acked[message.tp].append(message.offset)
        self._acked_index[message.tp].add(message.offset)
        return True

    monkeypatch.setattr(FaustAIOKafkaConsumer, "ack", fausts_books)
    await guard.perform_seek()
    messages = {m.offset: m for m in (guard._to_message(RAW, r) for r in _records(RAW, range(20, 26)))}
    for offset in (20, 21, 23, 24):
        guard.take(messages[offset])
        assert guard.ack(messages[offset])
    # Some Faust path counts record 22 as acknowledged although no agent took it (here: straight into its books).
    fausts_books(guard, messages[22])
    assert guard._filter_committable_offsets([RAW]) == {RAW: 22}, "the commit stops before record 22"
    assert any("record 22 was not processed" in r.getMessage() for r in caplog.records)
    guard._committed_offset[RAW] = 22
    # Read again (the stall check): records 22-24 are delivered again and processed; then the commit goes on.
    for offset in (22, 23, 24):
        guard.take(messages[offset])
        guard.ack(messages[offset])
    assert guard._filter_committable_offsets([RAW]) == {RAW: 25}
