"""Boilerplate learned from the stream: per-source line counts with decay, bounded in memory.

The same donation appeal or notification banner repeats across every article of one source. For each source
we count, per line fingerprint, in how many distinct articles it appeared (a line counts once per article,
however often it occurs in it), with exponential decay; a line whose decayed count reaches ``min_articles``
(K) is *learned boilerplate* of that source, even when no rule knows it.

This module is the pure part (no Faust, no I/O): :class:`SourceLines` (one source's state, one table value),
:func:`observe` (count one article), :func:`learned_fingerprints` (what is boilerplate now) and the codecs.
The Faust wiring lives in :mod:`workers.cleaning.agent`.

Where the state lives (partitioning)
------------------------------------
Raw records are keyed by article id, so one source's articles are spread over every partition, and over every
clean instance. Counting in the clean agent directly would make several instances read-modify-write the same
source concurrently and lose updates. Instead:

1. the clean agent cleans a batch, then sends one small *observation* per source in the batch (article id
   digests, times, line fingerprints of the lines it saw) to an internal topic **keyed by source**;
2. a ``learn`` agent consumes that topic, so each source has exactly one writer (the owner of the source's
   partition), which applies :func:`observe` and writes the source's :class:`SourceLines` to a **GlobalTable**
   keyed by source, co-partitioned with the observation topic (changelog partition = source partition);
3. every clean instance holds the whole GlobalTable (all changelog partitions, as standby), so it can read any
   source's learned lines while cleaning, whichever article partitions it owns.

It is approximate in one honest way: learning lags cleaning by about one batch (an article is cleaned with
what was learned from the articles whose observations were applied before it; with several instances, also
after the standby replication delay). Everything else is exact: counts are serialised per source, and a
replayed article (at-least-once redelivery) is recognised by its id digest and not counted twice.

Decay and bounds
----------------
- Counts halve every ``half_life_s``; decay is applied in steps of 1/32 half-life, so K articles close together
  count exactly K. A line is learned when its decayed count is at least K: roughly, seen in K articles within
  the last half-life or so. Entries decayed below :data:`PRUNE_BELOW` are dropped.
- At most ``max_lines`` fingerprints per source: beyond that, the lowest counts go first (least recently seen
  first among equals), never a line of the article being counted. If a source's table fills with lines seen
  twice or more, a new banner is learned only when it appears in consecutive articles, until decay frees room.
- At most ``max_sources`` sources: the learn agent evicts the least recently seen sources of a partition beyond
  ``ceil(max_sources / partitions)`` (see :func:`sources_to_evict`).
- Fingerprints are 8-byte digests of :func:`~workers.cleaning.boilerplate.line_fingerprint` and the latest
  :data:`RECENT_ARTICLES` article ids are kept as 6-byte digests: one source costs about 30 bytes per line.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson

from workers.cleaning.boilerplate import line_fingerprint

__all__ = [
    "DECAY_STEPS_PER_HALF_LIFE",
    "PRUNE_BELOW",
    "RECENT_ARTICLES",
    "ArticleLines",
    "LearnedLimits",
    "SourceLines",
    "article_digest",
    "decode_observation",
    "decode_state",
    "encode_observation",
    "encode_state",
    "fingerprint",
    "learned_fingerprints",
    "observe",
    "source_key",
    "sources_per_partition",
    "sources_to_evict",
]

#: Decay is applied in this many steps per half-life (K articles within one step count exactly K).
DECAY_STEPS_PER_HALF_LIFE = 32
#: Entries whose decayed count falls below this are forgotten (a line seen once: after two half-lives).
PRUNE_BELOW = 0.25
#: Article id digests kept per source to recognise a replayed article (larger than any redelivered batch).
RECENT_ARTICLES = 256
_STATE_VERSION = 1
_MAX_SOURCE_KEY = 200

K = TypeVar("K", str, bytes)


@dataclass(frozen=True, slots=True)
class LearnedLimits:
    """Thresholds and bounds of learning (taken from the settings)."""

    min_articles: int = 5
    half_life_s: float = 7 * 86_400.0
    max_lines: int = 1_000
    max_sources: int = 1_000

    @property
    def step_s(self) -> float:
        """Seconds per decay step."""
        return self.half_life_s / DECAY_STEPS_PER_HALF_LIFE

    def epoch(self, at: float) -> int:
        """The decay step that time ``at`` (epoch seconds) falls in."""
        return math.floor(at / self.step_s)


@dataclass(slots=True)
class SourceLines:
    """One source's learned state: decayed article counts per line fingerprint (oldest touched first)."""

    epoch: int = 0
    seen_at: float = 0.0
    counts: dict[str, float] = field(default_factory=dict)
    recent: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ArticleLines:
    """What one cleaned article contributes: its id digest, its time and the fingerprints of its lines."""

    article: str
    at: float
    lines: tuple[str, ...]


def fingerprint(line: str) -> str:
    """Compact fingerprint of a line (16 hex chars): digits, case and spacing do not matter."""
    return hashlib.blake2b(line_fingerprint(line).encode("utf-8"), digest_size=8).hexdigest()


def article_digest(article_id: str) -> str:
    """Compact digest of an article id (12 hex chars), for recognising replays."""
    return hashlib.blake2b(article_id.encode("utf-8"), digest_size=6).hexdigest()


def source_key(raw: Mapping[str, Any]) -> str | None:
    """The key learning groups articles by: the envelope's ``source``, else the URL's host, else ``None``."""
    source = raw.get("source")
    if isinstance(source, str) and source.strip():
        return " ".join(source.split()).lower()[:_MAX_SOURCE_KEY]
    url = raw.get("url")
    if isinstance(url, str) and url:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return None
        if host:
            return host.removeprefix("www.")[:_MAX_SOURCE_KEY]
    return None


def _decay_to(state: SourceLines, epoch: int) -> None:
    """Bring ``state``'s counts to decay step ``epoch``, dropping what decayed below :data:`PRUNE_BELOW`."""
    steps = epoch - state.epoch
    if steps <= 0:
        return
    factor = 0.5 ** (steps / DECAY_STEPS_PER_HALF_LIFE)
    state.counts = {fp: c * factor for fp, c in state.counts.items() if c * factor >= PRUNE_BELOW}
    state.epoch = epoch


def observe(state: SourceLines, article: ArticleLines, limits: LearnedLimits) -> bool:
    """Count one article's lines into its source's ``state``; ``False`` if this article was counted before.

    Each distinct fingerprint counts once. Keeps ``state`` within ``limits.max_lines`` entries.
    """
    if article.article in state.recent:
        return False
    state.recent.append(article.article)
    del state.recent[:-RECENT_ARTICLES]
    # A late (out-of-order) record is counted at the state's current step: decay never runs backwards.
    _decay_to(state, limits.epoch(article.at))
    state.seen_at = max(state.seen_at, article.at)
    counts = state.counts
    touched = dict.fromkeys(article.lines)
    for fp in touched:
        # Re-insert so the dict's order stays "least recently seen first" (the eviction tie-break).
        counts[fp] = counts.pop(fp, 0.0) + 1.0
    excess = len(counts) - limits.max_lines
    if excess > 0:
        order = {fp: i for i, fp in enumerate(counts)}
        candidates = [fp for fp in counts if fp not in touched]
        for fp in heapq.nsmallest(excess, candidates, key=lambda f: (counts[f], order[f])):
            del counts[fp]
        if len(counts) > limits.max_lines:  # one article with more lines than the cap: keep its first ones
            for fp in list(counts)[limits.max_lines :]:
                del counts[fp]
    return True


def learned_fingerprints(state: SourceLines, at: float, limits: LearnedLimits) -> frozenset[str]:
    """Fingerprints whose count, decayed to time ``at``, reaches ``limits.min_articles``."""
    steps = max(0, limits.epoch(at) - state.epoch)
    factor = 0.5 ** (steps / DECAY_STEPS_PER_HALF_LIFE)
    return frozenset(fp for fp, c in state.counts.items() if c * factor >= limits.min_articles)


def encode_state(state: SourceLines) -> bytes:
    """Serialise a source's state (the GlobalTable value)."""
    return orjson.dumps(
        {
            "v": _STATE_VERSION,
            "e": state.epoch,
            "s": state.seen_at,
            "c": [[fp, round(c, 4)] for fp, c in state.counts.items()],
            "r": state.recent,
        }
    )


def decode_state(data: bytes | None) -> SourceLines:
    """Parse a table value written by :func:`encode_state` (an empty state for ``None`` or unknown data)."""
    if not data:
        return SourceLines()
    try:
        obj = orjson.loads(data)
        if not isinstance(obj, dict) or obj.get("v") != _STATE_VERSION:
            return SourceLines()
        return SourceLines(
            epoch=int(obj["e"]),
            seen_at=float(obj["s"]),
            counts={str(fp): float(c) for fp, c in obj["c"]},
            recent=[str(a) for a in obj["r"]],
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return SourceLines()


def encode_observation(source: str, articles: Sequence[ArticleLines]) -> bytes:
    """The record the clean agent sends (keyed by source) for the learn agent."""
    return orjson.dumps(
        {"v": _STATE_VERSION, "source": source, "articles": [[a.article, a.at, list(a.lines)] for a in articles]}
    )


def decode_observation(data: bytes | None) -> tuple[str, list[ArticleLines]] | None:
    """Parse an observation record; ``None`` if it is not one."""
    try:
        obj = orjson.loads(data or b"")
        if not isinstance(obj, dict) or obj.get("v") != _STATE_VERSION:
            return None
        articles = [ArticleLines(str(a), float(t), tuple(str(fp) for fp in lines)) for a, t, lines in obj["articles"]]
        return str(obj["source"]), articles
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def sources_per_partition(limits: LearnedLimits, partitions: int) -> int:
    """How many sources one partition of the table may hold (``max_sources`` split over the partitions)."""
    return max(1, math.ceil(limits.max_sources / max(1, partitions)))


def sources_to_evict(seen_at: Mapping[K, float], keep: int, *, incoming: K | None = None) -> list[K]:
    """The least recently seen sources to drop so that at most ``keep`` remain (counting ``incoming``).

    ``seen_at`` maps the sources of one partition to their last observation time; ``incoming`` is a source
    about to be added (it is never evicted).
    """
    present: Iterable[K] = (s for s in seen_at if s != incoming)
    total = len(seen_at) + (1 if incoming is not None and incoming not in seen_at else 0)
    excess = total - keep
    if excess <= 0:
        return []
    return heapq.nsmallest(excess, present, key=lambda s: (seen_at[s], s))
