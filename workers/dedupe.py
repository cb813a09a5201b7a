"""Skip articles already processed: a bounded, changelog-backed memory of recent articles per partition.

A record redelivered after a crash (its output was acknowledged but its offset not yet committed) or an
article published twice with the same content would otherwise be tagged twice. The tag worker remembers, per
input partition, the last ``N`` articles it delivered as ``(id digest, content digest)`` pairs and skips an
input whose pair it remembers. An article whose content changed (a corrected story, a new model) has a new
content digest and is processed again.

Storage is a Faust table keyed ``b"<partition>/<segment>"``: each partition's memory is a run of numbered
segments of :data:`SEGMENT_ENTRIES` packed pairs; the newest segment is rewritten as it fills and the oldest is
deleted (a tombstone) once a partition holds more than ``max_segments``. So memory and the (compacted)
changelog are bounded, and each delivered batch costs one small changelog record per partition it touched.
The changelog record goes to the partition of the same number as the input record's (whatever partitioner the
upstream producer used). The table is a GlobalTable, so every instance holds every partition's memory and a
worker that takes over a partition has its memory at hand.

Entries are written only after the outputs of their batch are acknowledged, and before the batch's offsets
can be committed: a crash in between leaves the article unremembered and it is processed again (at least
once), never the reverse.

:class:`PartitionMemory` is the pure data structure (unit-tested without a broker); :class:`Deduplicator`
binds it to the Faust table and the producer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson

log = logging.getLogger(__name__)

#: Pairs per segment: a rewritten segment is at most 16 bytes x this (4 KiB).
SEGMENT_ENTRIES = 256
_DIGEST = 8
_ENTRY = 2 * _DIGEST

#: Fields of a clean record that make up its content (not ``cleaned_at``, ``stats`` or tracing headers).
CONTENT_FIELDS = ("url", "source", "content_type", "language", "title", "standfirst", "authors", "published_at",
                  "body")


def id_digest(article_id: str) -> bytes:
    """A short stable digest of an article id (8 bytes)."""
    return hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()


def content_digest(record: Mapping[str, Any], salt: str = "") -> bytes | None:
    """A short digest of the article content of a clean record, or ``None`` if it has no usable content.

    ``salt`` is mixed in so that changing it (e.g. the spaCy model) makes every article new again.
    """
    try:
        payload = orjson.dumps([salt, *(record.get(name) for name in CONTENT_FIELDS)])
    except orjson.JSONEncodeError:  # unserialisable field values
        return None
    return hashlib.blake2b(payload, digest_size=_DIGEST).digest()


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies one input for deduplication: its partition, id digest and content digest."""

    partition: int
    article: bytes
    content: bytes


def fingerprint(value: bytes | None, partition: int, salt: str = "") -> Fingerprint | None:
    """The fingerprint of a clean record's bytes, or ``None`` when it is not a decodable record with an id.

    Undecodable records are never deduplicated: the stage itself dead-letters them with the reason.
    """
    if not value:
        return None
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        return None
    content = content_digest(record, salt)
    if content is None:
        return None
    return Fingerprint(partition, id_digest(record["id"]), content)


def segment_key(partition: int, segment: int) -> bytes:
    """The table key of one segment of one partition's memory."""
    return b"%d/%d" % (partition, segment)


def parse_segment_key(key: bytes) -> tuple[int, int] | None:
    """``(partition, segment)`` of a table key, or ``None`` for a key this module did not write."""
    partition, sep, segment = key.partition(b"/")
    if not sep or not partition.isdigit() or not segment.isdigit():
        return None
    return int(partition), int(segment)


def encode_segment(pairs: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Pack ``(id digest, content digest)`` pairs into one table value."""
    return b"".join(a + c for a, c in pairs)


def decode_segment(value: bytes) -> list[tuple[bytes, bytes]]:
    """Unpack a table value (a trailing partial entry, which this module never writes, is ignored)."""
    usable = len(value) - len(value) % _ENTRY
    return [(value[i:i + _DIGEST], value[i + _DIGEST:i + _ENTRY]) for i in range(0, usable, _ENTRY)]


@dataclass(slots=True)
class PartitionMemory:
    """The recent articles of one partition: numbered segments of pairs, the newest one still filling."""

    max_segments: int
    segments: dict[int, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    #: id digest -> (content digest, segment holding its newest pair)
    index: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)

    @classmethod
    def restore(cls, stored: Mapping[int, bytes], max_segments: int) -> PartitionMemory:
        """Rebuild from the table's values of one partition (segment number -> value), oldest first."""
        memory = cls(max_segments)
        for number in sorted(stored):
            pairs = decode_segment(stored[number])
            memory.segments[number] = pairs
            for article, content in pairs:
                memory.index[article] = (content, number)
        return memory

    def seen(self, article: bytes, content: bytes) -> bool:
        """Whether this article was delivered with this content."""
        entry = self.index.get(article)
        return entry is not None and entry[0] == content

    def __len__(self) -> int:
        return len(self.index)

    def add(self, pairs: Iterable[tuple[bytes, bytes]]) -> tuple[set[int], set[int]]:
        """Remember ``pairs``; returns ``(segments changed, segments dropped)`` for the changelog."""
        changed: set[int] = set()
        dropped: set[int] = set()
        for article, content in pairs:
            current = max(self.segments, default=0)
            if len(self.segments.get(current, ())) >= SEGMENT_ENTRIES:
                current += 1
            self.segments.setdefault(current, []).append((article, content))
            self.index[article] = (content, current)
            changed.add(current)
            while len(self.segments) > self.max_segments:
                oldest = min(self.segments)
                for old_article, _ in self.segments.pop(oldest):
                    if self.index.get(old_article, (b"", -1))[1] == oldest:
                        del self.index[old_article]
                dropped.add(oldest)
                changed.discard(oldest)
        return changed, dropped


@dataclass(frozen=True, slots=True)
class Claim:
    """The deduplicator's decision on one input (see :meth:`Deduplicator.claim`)."""

    #: skip this input: it was delivered already, or is being processed by another batch
    duplicate: bool
    #: set on a fresh claim: what to remember once the input is delivered
    fingerprint: Fingerprint | None
    #: a fresh claim's own outcome (to resolve), or the outcome of the batch a duplicate waits for
    outcome: asyncio.Future[bool] | None


class Deduplicator:
    """The tag worker's memory of delivered articles, in a Faust table written straight to its changelog.

    Writes bypass Faust's buffered changelog path on purpose: each changelog record is sent on its own and
    awaited, because the embedded Tansu broker reports a wrong end offset for multi-record batches (which would
    silently truncate recovery), and because the entries must be stored before the batch's offsets are
    committed. Records for different partitions are sent concurrently.
    """

    def __init__(self, app: faust.App, table: Any, max_segments: int, salt: str = "") -> None:
        self.app = app
        self.table = table
        self.max_segments = max_segments
        self.salt = salt
        self._memories: dict[int, PartitionMemory] = {}
        #: fingerprints taken for processing by a batch in flight, each with the future of that batch's outcome
        self._pending: dict[Fingerprint, asyncio.Future[bool]] = {}

    def forget_partitions(self) -> None:
        """Drop the in-memory view (on a rebalance): it is rebuilt from the recovered table when next used."""
        self._memories.clear()
        self._pending.clear()

    def _memory(self, partition: int) -> PartitionMemory:
        memory = self._memories.get(partition)
        if memory is None:
            stored: dict[int, bytes] = {}
            for key in list(self.table.data.keys()):
                parsed = parse_segment_key(key) if isinstance(key, bytes) else None
                if parsed is not None and parsed[0] == partition:
                    stored[parsed[1]] = self.table.data[key]
            memory = self._memories[partition] = PartitionMemory.restore(stored, self.max_segments)
            if memory:
                log.info("dedupe: partition %d remembers %d recent articles", partition, len(memory))
        return memory

    def claim(self, value: bytes | None, partition: int) -> Claim:
        """Decide on one input, from the event loop.

        * A fresh input is taken: the returned :class:`Claim` owns ``outcome``, which the caller must resolve
          with :meth:`settle` (delivered) or :meth:`release` (abandoned).
        * An article already delivered with the same content is a duplicate with no ``outcome`` to wait for.
        * An article taken by a batch still in flight (e.g. read again after a seek, or published twice in a
          row) is a duplicate whose ``outcome`` is that batch's: the caller must not let the duplicate's offset
          be committed before that outcome is ``True``, because if the other batch is abandoned, the duplicate
          is the only copy left.
        """
        found = fingerprint(value, partition, self.salt)
        if found is None:
            return Claim(duplicate=False, fingerprint=None, outcome=None)
        in_flight = self._pending.get(found)
        if in_flight is not None:
            return Claim(duplicate=True, fingerprint=None, outcome=in_flight)
        if self._memory(partition).seen(found.article, found.content):
            return Claim(duplicate=True, fingerprint=None, outcome=None)
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[found] = outcome
        return Claim(duplicate=False, fingerprint=found, outcome=outcome)

    async def settle(self, claimed: Mapping[tuple[int, int], Claim], delivered: Iterable[tuple[int, int]]) -> None:
        """Remember the claims whose input ``(partition, offset)`` was delivered, then resolve all as handled.

        Call once the batch's outputs and dead letters are acknowledged; returns once the changelog records
        are. Fingerprints of dead-lettered inputs are not remembered, so replaying them after a fix processes
        them.
        """
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for coordinates in delivered:
            item = claimed.get(coordinates)
            if item is not None and item.fingerprint is not None:
                by_partition.setdefault(item.fingerprint.partition, []).append(
                    (item.fingerprint.article, item.fingerprint.content)
                )
        await asyncio.gather(*(self._write(p, pairs) for p, pairs in by_partition.items()))
        self._resolve(claimed.values(), handled=True)

    def release(self, claimed: Iterable[Claim]) -> None:
        """Give up claims whose batch was abandoned (not delivered): later copies of them are processed."""
        self._resolve(claimed, handled=False)

    def _resolve(self, claimed: Iterable[Claim], handled: bool) -> None:
        for item in claimed:
            if item.fingerprint is None or item.outcome is None:
                continue
            if self._pending.get(item.fingerprint) is item.outcome:
                del self._pending[item.fingerprint]
            if not item.outcome.done():
                item.outcome.set_result(handled)

    async def _write(self, partition: int, pairs: list[tuple[bytes, bytes]]) -> None:
        memory = self._memory(partition)
        changed, dropped = memory.add(pairs)
        changelog = self.table.changelog_topic.get_topic_name()
        data = self.table.data
        updates: list[tuple[bytes, bytes | None]] = [(segment_key(partition, n), None) for n in sorted(dropped)]
        updates += [(segment_key(partition, n), encode_segment(memory.segments[n])) for n in sorted(changed)]
        for key, value in updates:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
            # One record per produce request to this partition (see the class docstring).
            await (await self.app.producer.send(changelog, key, value, partition, None, []))


def attach_deduplicator(app: faust.App, partitions: int, ids_per_partition: int, salt: str = "") -> Deduplicator:
    """Declare the table on ``app`` and return its deduplicator.

    A GlobalTable: every instance follows the whole changelog, so a worker that takes over a partition after a
    rebalance already holds that partition's memory (it is small: ``ids_per_partition`` x 16 bytes per partition).
    Each partition's segments are written only by the instance that owns the input partition, to the changelog
    partition of the same number. The in-memory view is dropped on every rebalance and rebuilt from the table
    when next used.
    """
    table = app.GlobalTable(
        "recent-articles",
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        # Faust's advice for GlobalTables (a recovery loop seen with several instances otherwise).
        recovery_buffer_size=1,
        help="Recent (article id, content) digests per input partition (workers.dedupe).",
    )
    dedupe = Deduplicator(app, table, max_segments=-(-ids_per_partition // SEGMENT_ENTRIES), salt=salt)

    @app.on_partitions_revoked.connect
    def _forget(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        dedupe.forget_partitions()

    return dedupe
