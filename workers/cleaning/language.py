"""Language of an article (ISO 639-1) with py3langid's model, loaded once per process.

py3langid walks its byte n-gram automaton one byte at a time in Python, which costs about half a
millisecond per sample. The automaton is an Aho-Corasick machine whose states are at most
``depth`` bytes deep, so the state after any byte depends only on the last ``depth`` bytes: the
walk is done here for all positions at once with ``depth`` vectorised numpy steps, which gives the
same feature counts (and so the same scores) roughly ten times faster. Anything unexpected in the
model falls back to py3langid's own ``classify``.
"""

from __future__ import annotations

import logging
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
_lock = threading.Lock()
_identifier: Any = None
_FAILURES = (ValueError, RuntimeError, MemoryError, AttributeError, IndexError)
_walker: _VectorWalker | None = None


class _VectorWalker:
    """The automaton as numpy arrays, walked for every byte position at once."""

    def __init__(self, identifier: Any) -> None:
        self.nextmove = np.frombuffer(identifier.tk_nextmove, dtype=np.uint32) if not isinstance(
            identifier.tk_nextmove, np.ndarray) else identifier.tk_nextmove
        self.rowbase = np.asarray(identifier.tk_row, dtype=np.int64) << 8
        self.output = np.asarray(identifier.tk_output, dtype=np.int64)
        self.depth = _automaton_depth(self.nextmove, self.rowbase)
        # The per-language weights widened once from the model's float16 (exactly): the product with a
        # sample's counts is taken in float32 anyway, and widening the gathered rows per sample cost
        # more than the product itself.
        self.weights = np.asarray(identifier.nb_ptc, dtype=np.float32)
        self.width = int(self.output.max()) + 1
        # The native walk reads the tables as they are: C-contiguous arrays of these exact types.
        self.native = (self.nextmove.dtype == np.uint32 and self.nextmove.flags.c_contiguous
                       and self.rowbase.flags.c_contiguous and self.output.flags.c_contiguous)

    def feature_counts(self, data: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The model's features found in ``data`` (ascending) and how often each occurs."""
        return self.feature_counts_many([data])[0]

    def feature_counts_many(
        self, samples: Sequence[bytes]
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """``feature_counts`` of every sample, walked together: a position only looks back as far as
        its own sample's start."""
        sizes = np.fromiter(map(len, samples), dtype=np.int64, count=len(samples))
        if _speedups is not None and self.native:
            # The same walk in C (each position looks back ``depth`` bytes at most, within its sample).
            walked = _speedups.walk_features(
                b"".join(samples), sizes, self.nextmove, self.rowbase, self.output, self.width, self.depth)
            indices = np.frombuffer(walked[0], dtype=np.int64)
            occurrences = np.frombuffer(walked[1], dtype=np.int64)
            return [(indices[lo:hi], occurrences[lo:hi]) for lo, hi in pairwise(walked[2])]
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
        return [(keys[lo:hi] % width, counts[lo:hi]) for lo, hi in pairwise(cuts)]


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
    return _label(identifier, walker, sample, *walker.feature_counts(_sample_bytes(sample)))


def _label(identifier: Any, walker: _VectorWalker, sample: str, index: npt.NDArray[np.int64],
           counts: npt.NDArray[np.int64]) -> str:
    """The language of ``sample`` from its feature counts (py3langid's scores)."""
    if index.size == 0:
        return str(identifier.classify(sample)[0])
    scores = np.log1p(counts.astype(np.float32)) @ walker.weights.take(index, axis=0) + identifier.nb_pc
    for first, dupe in identifier._alias_pairs:  # script aliases share one label (py3langid's rule)
        scores[first] = max(scores[first], scores[dupe])
        scores[dupe] = -np.inf
    return str(identifier.nb_classes[int(scores.argmax())])


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
        counted = walker.feature_counts_many([_sample_bytes(samples[k]) for k in chosen])
    except _FAILURES:
        logger.warning("batched language detection failed; detecting one text at a time", exc_info=True)
        counted = None
    if counted is None:
        return [detect_language(text) for text in texts]
    for k, (index, counts) in zip(chosen, counted, strict=True):
        try:
            found[k] = _label(identifier, walker, samples[k], index, counts) or None
        except _FAILURES:
            logger.warning("language detection failed", exc_info=True)
    return found
