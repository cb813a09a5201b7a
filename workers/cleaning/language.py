"""Language of an article (ISO 639-1) with py3langid's model, loaded once per process.

py3langid walks its byte n-gram automaton one byte at a time in Python, which costs about half a
millisecond per sample. The automaton is an Aho-Corasick machine whose states are at most
``depth`` bytes deep, so the state after any byte depends only on the last ``depth`` bytes: the
walk is done here for all positions at once with ``depth`` vectorised numpy steps, which gives the
same feature counts (and so the same scores) roughly ten times faster. Anything unexpected in the
model falls back to py3langid's own ``classify``.

Inside the pipeline the model's tables (about 70 MB) are mostly out of the cache, so the time goes to
reading them: the native path keeps them in huge pages (fewer TLB misses), reads the weights as the
model's float16, and reads each feature's weights once per batch (``_speedups.feature_scores``).
"""

from __future__ import annotations

import functools
import logging
import mmap
import threading
import unicodedata
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.cleaning.native import speedups as _speedups
from workers.cleaning.pagetext import DIGIT_CHAR, WORD_CHAR, char_table, code_points

__all__ = ["detect_language", "detect_languages"]

logger = logging.getLogger(__name__)

_SAMPLE_CHARS = 700
_MIN_LETTERS = 20
_MAX_DEPTH = 16
_HUGE_PAGE = 2 << 20
_lock = threading.Lock()
_identifier: Any = None
_FAILURES = (ValueError, RuntimeError, MemoryError, AttributeError, IndexError)
_walker: _VectorWalker | None = None


class _VectorWalker:
    """The automaton as numpy arrays, walked for every byte position at once."""

    def __init__(self, identifier: Any) -> None:
        nextmove = np.frombuffer(identifier.tk_nextmove, dtype=np.uint32) if not isinstance(
            identifier.tk_nextmove, np.ndarray) else identifier.tk_nextmove
        rowbase = np.asarray(identifier.tk_row, dtype=np.int64) << 8
        output = np.asarray(identifier.tk_output, dtype=np.int64)
        self.depth = _automaton_depth(nextmove, rowbase)
        self.width = int(output.max()) + 1
        self.model_weights: npt.NDArray[Any] = np.asarray(identifier.nb_ptc)
        # The native walk and scores read the tables as they are: C-contiguous arrays of these exact types.
        self.native = (nextmove.dtype == np.uint32 and nextmove.flags.c_contiguous
                       and self.model_weights.dtype in (np.float16, np.float32)
                       and self.model_weights.ndim == 2 and self.model_weights.flags.c_contiguous)
        if self.native:
            # Every byte of a sample is a jump to a random place in the automaton (tens of megabytes) and every
            # feature a row of weights elsewhere: with 4 KB pages nearly each of these reads also misses the
            # TLB, with 2 MB pages they do not (a measured third of the walk's time inside the pipeline).
            nextmove, rowbase, output, self.model_weights = _huge_page_copies(
                nextmove, rowbase, output, self.model_weights)
        self.nextmove, self.rowbase, self.output = nextmove, rowbase, output

    @functools.cached_property
    def weights(self) -> npt.NDArray[np.float32]:
        """The per-language weights widened once from the model's float16 (exactly), for the numpy scores: the
        product with a sample's counts is taken in float32 anyway, and widening the gathered rows per sample
        cost more than the product itself."""
        return np.asarray(self.model_weights, dtype=np.float32)

    def feature_counts(
        self, samples: Sequence[bytes]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[int]]:
        """The model's features found in each sample (ascending) and how often each occurs, as two flat arrays:
        sample k's are [cuts[k]:cuts[k + 1]]. The samples are walked together: a position only looks back as
        far as its own sample's start."""
        sizes = np.fromiter(map(len, samples), dtype=np.int64, count=len(samples))
        if _speedups is not None and self.native:
            # The same walk in C (each position looks back ``depth`` bytes at most, within its sample).
            walked = _speedups.walk_features(
                b"".join(samples), sizes, self.nextmove, self.rowbase, self.output, self.width, self.depth)
            return np.frombuffer(walked[0], dtype=np.int64), np.frombuffer(walked[1], dtype=np.int64), walked[2]
        letters = np.frombuffer(b"".join(samples), dtype=np.uint8).astype(np.int64)
        n = letters.shape[0]
        sample_of = np.repeat(np.arange(sizes.shape[0]), sizes)
        starts = np.zeros(sizes.shape[0], dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        local = np.arange(n) - starts.take(sample_of)
        state = np.zeros(n, dtype=np.int64)
        for back in range(self.depth - 1, -1, -1):
            if back == 0:
                state = self.nextmove[self.rowbase[state] + letters].astype(np.int64)
            elif back < n:
                part = state[back:]
                moved = self.nextmove[self.rowbase[part] + letters[:n - back]]
                state[back:] = np.where(local[back:] >= back, moved, part)
        features = self.output[state]
        found = features >= 0
        width = self.width
        keys, counts = np.unique(sample_of[found] * width + features[found], return_counts=True)
        cuts = np.searchsorted(keys, np.arange(sizes.shape[0] + 1) * width).tolist()
        return keys % width, counts, cuts

    def scores(self, keys: npt.NDArray[np.int64], counts: npt.NDArray[np.int64],
               cuts: list[int]) -> npt.NDArray[np.float32]:
        """Each sample's ``log1p(counts) @ weights[keys]`` (one row per sample; py3langid's scores without the
        class priors)."""
        values = np.log1p(counts.astype(np.float32))
        classes = self.model_weights.shape[1]
        if _speedups is not None and self.native:
            # In C, each feature's weights read once for the whole batch (see feature_scores).
            half = self.model_weights.dtype == np.float16
            scores = _speedups.feature_scores(keys, values, np.asarray(cuts, dtype=np.int64), self.model_weights,
                                              classes, half)
            return np.frombuffer(scores, dtype=np.float32).reshape(len(cuts) - 1, classes)
        found = np.zeros((len(cuts) - 1, classes), dtype=np.float32)
        for k, (lo, hi) in enumerate(pairwise(cuts)):
            if hi > lo:
                found[k] = values[lo:hi] @ self.weights.take(keys[lo:hi], axis=0)
        return found


def _huge_page_copies(*tables: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
    """Copies of ``tables`` (C-contiguous) in one private mapping that the kernel is asked to back with huge
    pages (``madvise(MADV_HUGEPAGE)``: Linux's transparent huge pages are often only given where asked for).
    The mapping is used from a 2 MB boundary and in whole 2 MB pages; where the platform has no such advice the
    tables are returned as they are."""
    if not hasattr(mmap, "MADV_HUGEPAGE") or not hasattr(mmap, "MAP_ANONYMOUS"):
        return list(tables)
    offsets, size = [], 0
    for table in tables:
        offsets.append(size)
        size += -(-table.nbytes // 64) * 64  # each table on a cache line of its own
    size = -(-size // _HUGE_PAGE) * _HUGE_PAGE
    try:
        region = mmap.mmap(-1, size + _HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        region.madvise(mmap.MADV_HUGEPAGE)
    except OSError:
        return list(tables)
    memory = np.frombuffer(region, dtype=np.uint8)
    start = -memory.ctypes.data % _HUGE_PAGE
    copies = []
    for table, offset in zip(tables, offsets, strict=True):
        copy = memory[start + offset:start + offset + table.nbytes].view(table.dtype).reshape(table.shape)
        copy[...] = table
        copies.append(copy)
    return copies  # (each copy holds the mapping: it is unmapped when the last copy goes)


def _automaton_depth(nextmove: npt.NDArray[np.uint32], rowbase: npt.NDArray[np.int64]) -> int:
    """Longest path (in bytes) from the start state to any state first reached, by breadth-first search."""
    seen = np.zeros(rowbase.shape[0], dtype=bool)
    seen[0] = True
    frontier = np.array([0], dtype=np.int64)
    depth = 0
    all_bytes = np.arange(256, dtype=np.int64)
    while frontier.size:
        targets = np.unique(nextmove[(rowbase[frontier][:, None] + all_bytes[None, :]).ravel()].astype(np.int64))
        frontier = targets[~seen[targets]]
        seen[frontier] = True
        if frontier.size:
            depth += 1
        if depth > _MAX_DEPTH:
            raise ValueError("language model automaton deeper than expected")
    return depth


def _load_identifier() -> Any:
    global _identifier, _walker  # one model per process, loaded lazily
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
            try:
                _walker = _VectorWalker(_identifier)
            except (AttributeError, ValueError, TypeError):
                logger.warning("vectorised language detection unavailable; using py3langid directly")
                _walker = None
    return _identifier


def _sample_bytes(sample: str) -> bytes:
    """The bytes py3langid classifies for ``sample``."""
    text = sample.lower() if sample.isupper() else sample
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


def _classify(identifier: Any, sample: str) -> str:
    walker = _walker
    if walker is None:
        return str(identifier.classify(sample)[0])
    return _labels(identifier, walker, [sample])[0]


def _labels(identifier: Any, walker: _VectorWalker, samples: Sequence[str]) -> list[str]:
    """The language of each sample (py3langid's scores), all walked and scored together."""
    keys, counts, cuts = walker.feature_counts([_sample_bytes(sample) for sample in samples])
    scores = walker.scores(keys, counts, cuts) + identifier.nb_pc
    for first, dupe in identifier._alias_pairs:  # script aliases share one label (py3langid's rule)
        np.maximum(scores[:, first], scores[:, dupe], out=scores[:, first])
        scores[:, dupe] = -np.inf
    best = scores.argmax(axis=1).tolist()
    classes = identifier.nb_classes
    # (A sample without any feature is left to py3langid, as it always was.)
    return [str(classes[b]) if hi > lo else str(identifier.classify(sample)[0])
            for sample, b, (lo, hi) in zip(samples, best, pairwise(cuts), strict=True)]


def _letter_count(text: str) -> int:
    """How many characters of ``text`` match ``[^\\W\\d_]`` (counted with the shared character table)."""
    if _speedups is not None:
        letters = _speedups.count_classes(text, len(text), char_table(), WORD_CHAR | DIGIT_CHAR, WORD_CHAR)
    else:
        classes = char_table().take(code_points(text))
        letters = int(np.count_nonzero((classes & (WORD_CHAR | DIGIT_CHAR)) == WORD_CHAR))
    return int(letters) - text.count("_")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` ("en", "de", ...), or None when there is too little text to tell."""
    sample = text[:_SAMPLE_CHARS]
    if _letter_count(sample[:400]) < _MIN_LETTERS:
        return None
    try:
        code = _classify(_load_identifier(), sample)
    except _FAILURES:
        logger.warning("language detection failed", exc_info=True)
        return None
    return code or None


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """``detect_language`` of every text; the samples are walked through the model together."""
    samples = [text[:_SAMPLE_CHARS] for text in texts]
    chosen = [k for k, sample in enumerate(samples) if _letter_count(sample[:400]) >= _MIN_LETTERS]
    found: list[str | None] = [None] * len(texts)
    if not chosen:
        return found
    identifier = _load_identifier()
    walker = _walker
    if walker is None:
        return [detect_language(text) for text in texts]
    try:
        labels = _labels(identifier, walker, [samples[k] for k in chosen])
    except _FAILURES:
        logger.warning("batched language detection failed; detecting one text at a time", exc_info=True)
        return [detect_language(text) for text in texts]
    for k, label in zip(chosen, labels, strict=True):
        found[k] = label or None
    return found
