"""The dedupe memory as a pure data structure: fingerprints, segments, bounds and restore."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
from hypothesis import given
from hypothesis import strategies as st

from workers.dedupe import (
    SEGMENT_ENTRIES,
    Deduplicator,
    PartitionMemory,
    content_digest,
    decode_segment,
    encode_segment,
    fingerprint,
    id_digest,
    parse_segment_key,
    segment_key,
)


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema_version": 1, "id": "a-1", "url": "https://x.example/1", "source": "x", "content_type": "text/plain",
        "language": "en", "title": "Title", "standfirst": None, "authors": ["A. Writer"],
        "published_at": "2024-02-05T13:07:00Z", "body": ["One.", "Two."], "stats": {"chars_in": 1},
        "flags": [], "cleaned_at": "2024-02-05T13:08:00Z",
    }
    base.update(changes)
    return base


def pairs(n: int, start: int = 0) -> list[tuple[bytes, bytes]]:
    return [(id_digest(f"id-{i}"), id_digest(f"content-{i}")) for i in range(start, start + n)]


def test_content_digest_ignores_processing_fields_but_not_content() -> None:
    same = content_digest(record())
    assert same == content_digest(record(cleaned_at="2030-01-01T00:00:00Z", stats={"chars_in": 99}, flags=["x"]))
    assert same != content_digest(record(body=["One.", "Two!"]))
    assert same != content_digest(record(title="Other"))
    assert same != content_digest(record(), salt="en_core_web_md")


def test_fingerprint_of_bytes() -> None:
    found = fingerprint(orjson.dumps(record()), partition=3)
    assert found is not None and found.partition == 3 and found.article == id_digest("a-1")
    for bad in (None, b"", b"{not json", b"[1, 2]", orjson.dumps({"id": 5}), orjson.dumps(record(id=""))):
        assert fingerprint(bad, 0) is None


def test_segment_codec_and_keys() -> None:
    items = pairs(5)
    assert decode_segment(encode_segment(items)) == items
    assert decode_segment(encode_segment(items) + b"xyz") == items  # a torn tail is ignored
    assert parse_segment_key(segment_key(11, 42)) == (11, 42)
    assert parse_segment_key(b"nonsense") is None and parse_segment_key(b"1/x") is None


def test_memory_remembers_and_reports_changed_segments() -> None:
    memory = PartitionMemory(max_segments=4)
    changed, dropped = memory.add(pairs(SEGMENT_ENTRIES + 1))
    assert changed == {0, 1} and dropped == set()
    assert memory.seen(id_digest("id-0"), id_digest("content-0"))
    assert not memory.seen(id_digest("id-0"), id_digest("content-1")), "same id, new content: not a duplicate"
    assert not memory.seen(id_digest("id-999"), id_digest("content-999"))
    changed, _ = memory.add(pairs(1, start=SEGMENT_ENTRIES + 1))
    assert changed == {1}, "only the open segment is rewritten"


def test_memory_is_bounded_and_forgets_oldest_first() -> None:
    memory = PartitionMemory(max_segments=3)
    total = SEGMENT_ENTRIES * 10
    dropped_all: set[int] = set()
    for start in range(0, total, 100):
        _, dropped = memory.add(pairs(min(100, total - start), start))
        dropped_all |= dropped
    assert len(memory.segments) == 3 and len(memory) <= 3 * SEGMENT_ENTRIES
    assert dropped_all == set(range(7))
    assert not memory.seen(id_digest("id-0"), id_digest("content-0"))
    assert memory.seen(id_digest(f"id-{total - 1}"), id_digest(f"content-{total - 1}"))


def test_an_id_written_again_survives_the_drop_of_its_older_segment() -> None:
    memory = PartitionMemory(max_segments=2)
    memory.add(pairs(1))  # id-0 in segment 0
    memory.add(pairs(SEGMENT_ENTRIES - 1, start=1))
    memory.add([(id_digest("id-0"), id_digest("content-0b"))])  # segment 1
    memory.add(pairs(SEGMENT_ENTRIES, start=SEGMENT_ENTRIES))  # fills 1, opens 2: segment 0 dropped
    assert 0 not in memory.segments
    assert memory.seen(id_digest("id-0"), id_digest("content-0b"))


@given(st.lists(st.integers(0, 2000), max_size=3 * SEGMENT_ENTRIES), st.integers(1, 5))
def test_restore_from_segments_equals_the_live_memory(ids: list[int], max_segments: int) -> None:
    live = PartitionMemory(max_segments)
    stored: dict[int, bytes] = {}
    for i in ids:
        changed, dropped = live.add([(id_digest(str(i)), id_digest(f"c{i % 7}"))])
        for n in dropped:
            stored.pop(n, None)
        for n in changed:
            stored[n] = encode_segment(live.segments[n])
    restored = PartitionMemory.restore(stored, max_segments)
    assert restored.segments == live.segments
    assert restored.index == live.index


# --- claims of batches in flight: the deduplicator against an in-memory table and producer -------------------


class _Producer:
    """Records changelog sends; every send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, int]] = []

    async def send(
        self, topic: str, key: bytes, value: bytes | None, partition: int, timestamp: None, headers: list[object]
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value, partition))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _deduplicator() -> tuple[Deduplicator, _Producer]:
    producer = _Producer()
    app = SimpleNamespace(producer=producer)
    table = SimpleNamespace(data={}, changelog_topic=SimpleNamespace(get_topic_name=lambda: "changelog"))
    return Deduplicator(app, table, max_segments=4), producer  # type: ignore[arg-type]


async def test_a_copy_read_while_the_original_is_in_flight_waits_for_its_outcome() -> None:
    dedupe, producer = _deduplicator()
    value = orjson.dumps(record())
    first = dedupe.claim(value, 0)
    assert not first.duplicate and first.fingerprint is not None and first.outcome is not None
    again = dedupe.claim(value, 0)
    assert again.duplicate and again.outcome is first.outcome, "the copy relies on the batch in flight"
    assert not again.outcome.done()
    await dedupe.settle({(0, 7): first}, delivered=[(0, 7)])
    assert again.outcome.result() is True
    assert [sent[1] for sent in producer.sent] == [segment_key(0, 0)], "remembered in the changelog"
    later = dedupe.claim(value, 0)
    assert later.duplicate and later.outcome is None, "delivered: a later copy is skipped without waiting"


async def test_an_abandoned_claim_is_released_and_its_copies_are_processed() -> None:
    dedupe, producer = _deduplicator()
    value = orjson.dumps(record())
    first = dedupe.claim(value, 2)
    waiting = dedupe.claim(value, 2)
    dedupe.release([first])
    assert waiting.outcome is not None and waiting.outcome.result() is False, "the copy must not be skipped"
    retry = dedupe.claim(value, 2)
    assert not retry.duplicate and retry.outcome is not first.outcome, "a later copy is taken afresh"
    assert producer.sent == [], "nothing abandoned is remembered"


async def test_dead_lettered_claims_are_resolved_but_not_remembered() -> None:
    dedupe, _ = _deduplicator()
    good, bad = orjson.dumps(record(id="good")), orjson.dumps(record(id="bad"))
    claims = {(1, 0): dedupe.claim(good, 1), (1, 1): dedupe.claim(bad, 1)}
    await dedupe.settle(claims, delivered=[(1, 0)])
    assert all(c.outcome is not None and c.outcome.result() for c in claims.values())
    assert dedupe.claim(good, 1).duplicate
    assert not dedupe.claim(bad, 1).duplicate, "a replay of a dead letter after a fix is processed"


async def test_forgetting_partitions_keeps_in_flight_outcomes_reachable() -> None:
    dedupe, _ = _deduplicator()
    value = orjson.dumps(record())
    first = dedupe.claim(value, 0)
    waiting = dedupe.claim(value, 0)
    dedupe.forget_partitions()  # a rebalance while the batch is in flight
    await dedupe.settle({(0, 3): first}, delivered=[(0, 3)])
    assert waiting.outcome is not None and waiting.outcome.result() is True
