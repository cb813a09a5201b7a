"""Line classification for plain-text pages: cheap per-line features, neighbourhood context, two
logistic layers.

Layer 1 scores each line from its own shape (length, sentence punctuation, capitalisation,
digits, boilerplate phrase families, self-promotion words, link/navigation patterns) and its
surroundings (prose density around it, position relative to the headline block and to the
main run of long paragraphs, repeats elsewhere on the page). Layer 2 re-scores each line with the
layer-1 probabilities of its neighbours, which smooths the decision into contiguous main-content
regions while still cutting "Related articles" lists and captions out of the middle of a story.

The weights live in ``line_weights.py``; ``training.py`` fits them (page-grouped cross-validation).
The features are computed column by column over the whole page (counts and vocabulary flags come
from ``pagetext.page_text``); the regexes that remain run only on the few lines that can match
them. ``tests/unit/cleaning/test_line_features_reference.py`` pins every value to the per-line
definition.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from workers.cleaning.boilerplate import BOILERPLATE_SHORT_RE
from workers.cleaning.dates import looks_like_date_line
from workers.cleaning.pagetext import (
    AGO,
    CAPTION,
    COMMENT,
    QUOTE_CHAR,
    SENTENCE_END_CHAR,
    TERMINAL_CHAR,
    UPPER_CHAR,
    YOU,
    PageText,
    char_table,
    page_text,
)

__all__ = ["FEATURE_NAMES", "context_features", "line_features", "score_lines"]

FloatArray = npt.NDArray[np.float64]

_SEPARATOR_RE = re.compile(r"\s[|•·»›/]\s|\s[|•·»›]|^[|•·»›]|\|")
_URL_RE = re.compile(r"https?://|www\.|\.com\b|\.co\.uk\b|@\w", re.IGNORECASE)
_CAPTION_RE = re.compile(
    r"\((?:image|photo|picture|pic|credit|video|source|file)\b|\b(?:image|photo|picture)s?:|"
    r"\b(?:getty|afp|reuters|ap photo|shutterstock|istock|epa)\b|/\s*(?:getty|afp|reuters|ap)\b",
    re.IGNORECASE,
)
_COMMENT_HEAD_RE = re.compile(
    r"^(?:\d+\s+)?(?:comments?|responses?|replies|reactions?|discussion)\s*(?:\(\d+\))?:?$"
    r"|^.{1,60}\s(?:says|wrote|said):?$|^leave\s+a\s+(?:reply|comment)|^(?:join|start)\s+the\s+(?:discussion|conversation)"
    r"|^(?:post|add|write|show|view|load)\s+(?:a\s+|all\s+)?comments?|^comments?\s+(?:are\s+closed|policy)"
    r"|^\d+\s+(?:comments?|responses?|replies)\b|save\s+my\s+name,\s+email|^reply$|^report\s+(?:comment|abuse)",
    re.IGNORECASE,
)
_COMMENT_HEAD_LOWER_RE = re.compile(_COMMENT_HEAD_RE.pattern)
_END_MARKER_RE = re.compile(
    r"^\W*(?:related(?:\s+(?:articles?|stories|posts|content|coverage|links|topics|news|reading))?|more\s+(?:from|on|in|"
    r"stories|news|articles)\b.{0,40}|(?:you\s+(?:may|might)\s+also\s+like).{0,20}|recommended(?:\s+\w+){0,2}"
    r"|(?:most\s+)?(?:popular|read|viewed|shared)(?:\s+\w+){0,2}|trending(?:\s+\w+){0,2}|tags?|topics|"
    r"share\s+this(?:\s+\w+)?|about\s+the\s+authors?|(?:read|see)\s+(?:more|also|next)|up\s+next|latest(?:\s+\w+){0,2}"
    r"|don'?t\s+miss|(?:top|other|latest|more)\s+stories)\W*$",
    re.IGNORECASE,
)
_CAPTION_LOWER_RE = re.compile(_CAPTION_RE.pattern)

FEATURE_NAMES: tuple[str, ...] = (
    "bias", "log_words", "log_chars", "terminal", "sentence_end", "long15", "short3", "starts_upper",
    "starts_quote", "titlecase_ratio", "digit_ratio", "phrase", "short_nav", "promo", "you", "we",
    "separator", "url", "caption", "comma_ratio", "stop_ratio", "all_upper", "ends_colon",
    "position", "in_header", "after_header", "first_after_header", "date_like", "byline_like",
    "repeated", "before_main", "after_main", "in_main", "dens3", "dens8", "prev_prose", "next_prose",
    "prev_words", "next_words", "headlineish", "known_bp", "gap_to_prose", "comment_head", "after_comments",
    "date_any", "run_short", "run_flanked", "title_repeat", "after_end_marker", "promo_near",
)
_N_BASE = len(FEATURE_NAMES)
_COLUMN = {name: k for k, name in enumerate(FEATURE_NAMES)}
_SEPARATOR_CHARS = "|•·»›/"
_URL_NEEDLES = ("://", "www.", ".co", "@")
_log1p_tables: list[FloatArray] = [np.array([math.log1p(k) for k in range(1024)], dtype=np.float64)]


def _log1p(values: npt.NDArray[np.int64]) -> FloatArray:
    """``math.log1p`` of non-negative integers, from a table (bit-identical to the per-line code)."""
    table = _log1p_tables[0]
    top = int(values.max()) if values.shape[0] else 0
    if top >= table.shape[0]:
        table = np.array([math.log1p(k) for k in range(max(top + 1, 2 * table.shape[0]))], dtype=np.float64)
        _log1p_tables[0] = table
    return np.asarray(table[values], dtype=np.float64)


class _DateLines:
    """``looks_like_date_line`` per line index, computed once per page. With the page's ``PageText``
    only lines that can pass its first checks (160 characters at most, a digit or "ago") are tried."""

    __slots__ = ("allowed", "candidates", "lines", "seen")

    def __init__(self, lines: Sequence[str], text: PageText | None = None) -> None:
        self.lines = lines
        self.seen: dict[int, bool] = {}
        self.candidates: list[int] | None = None
        self.allowed: set[int] | None = None
        if text is not None:
            possible = text.digits > 0
            possible[text.lines_with("ago", lower=True)] = True
            self.candidates = np.flatnonzero(possible & (text.lengths <= 160) & text.date_hint).tolist()
            self.allowed = set(self.candidates)

    def __call__(self, i: int) -> bool:
        found = self.seen.get(i)
        if found is None:
            if self.allowed is not None and i not in self.allowed:
                return False
            found = self.seen[i] = looks_like_date_line(self.lines[i])
        return found


def line_features(
    lines: Sequence[str],
    *,
    header_end: int,
    date_index: int | None,
    byline_index: int | None,
    title_index: int | None = None,
    cjk: bool,
    is_known_boilerplate: Callable[[str], bool] | None = None,
    signals: PageText | None = None,
    date_lines: Callable[[int], bool] | None = None,
) -> FloatArray:
    """Per-line feature matrix (lines x FEATURE_NAMES) for one page, computed column by column over
    the whole page (see ``pagetext``); tests pin it to the per-line definition."""
    n = len(lines)
    if n == 0:
        return np.zeros((0, _N_BASE))
    text = signals if signals is not None else page_text(lines)
    if date_lines is None:
        date_lines = _DateLines(lines, text)
    col = _COLUMN
    wc = text.words
    chars = text.lengths
    ew = np.maximum(wc, chars // 3) if cjk else wc
    table = char_table()
    last, first = text.last_cp, text.first_cp
    last_class, first_class = table[last], table[first]
    terminal = (last_class & TERMINAL_CHAR) != 0
    prose = (ew >= 15) | ((ew >= 5) & terminal)
    longest = int(ew[prose].max()) if prose.any() else 0
    long_enough = min(20, max(10, longest // 2))
    long_idx = np.flatnonzero(prose & (ew >= long_enough))
    after = long_idx[long_idx > header_end]
    first_main = int(after[0]) if after.shape[0] else (int(long_idx[0]) if long_idx.shape[0] else n)
    last_main = int(long_idx[-1]) if long_idx.shape[0] else -1
    index = np.arange(n)
    prose_prefix = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(prose, out=prose_prefix[1:])

    m = np.empty((n, _N_BASE), dtype=np.float64)
    m[:, col["bias"]] = 1.0
    log_ew = _log1p(ew)
    m[:, col["log_words"]] = log_ew
    m[:, col["log_chars"]] = _log1p(chars)
    m[:, col["terminal"]] = terminal
    m[:, col["sentence_end"]] = (last_class & SENTENCE_END_CHAR) != 0
    m[:, col["long15"]] = ew >= 15
    m[:, col["short3"]] = ew <= 3
    m[:, col["starts_upper"]] = (first_class & UPPER_CHAR) != 0
    m[:, col["starts_quote"]] = (first_class & QUOTE_CHAR) != 0
    has_words = wc > 0
    safe_wc = np.where(has_words, wc, 1)
    caps_ratio = np.where(has_words, text.capitalised / safe_wc, 0.0)
    m[:, col["titlecase_ratio"]] = caps_ratio
    m[:, col["digit_ratio"]] = text.digits / chars
    m[:, col["phrase"]] = text.phrase
    short_nav = np.zeros(n)
    maybe_nav = wc <= 4
    if not text.special_case_folding:
        # The pattern is a few navigation words between non-word characters: every token is one of them.
        maybe_nav &= (text.lower_words > 0) & (text.nav_words == text.lower_words)
    for i in np.flatnonzero(maybe_nav).tolist():
        short_nav[i] = BOILERPLATE_SHORT_RE.match(lines[i]) is not None
    m[:, col["short_nav"]] = short_nav
    promo_counts = np.asarray(text.promo, dtype=np.int64)
    promo = np.minimum(np.where(wc >= 4, promo_counts, 0), 3) / 3.0
    m[:, col["promo"]] = promo
    m[:, col["you"]] = text.has(YOU)
    m[:, col["we"]] = text.we_words >= 2
    flags = np.zeros(n)
    for i in sorted({i for c in _SEPARATOR_CHARS for i in text.lines_with(c)}):
        flags[i] = _SEPARATOR_RE.search(lines[i]) is not None
    m[:, col["separator"]] = flags
    flags = np.zeros(n)
    for i in sorted({i for c in _URL_NEEDLES for i in text.lines_with(c, lower=True)}):
        flags[i] = _URL_RE.search(lines[i]) is not None
    m[:, col["url"]] = flags
    flags = np.zeros(n)
    lower_lines = text.lower_lines
    for i in np.flatnonzero(text.has(CAPTION)).tolist():
        flags[i] = _CAPTION_LOWER_RE.search(lower_lines[i]) is not None
    m[:, col["caption"]] = flags
    m[:, col["comma_ratio"]] = text.commas / (wc + 1)
    m[:, col["stop_ratio"]] = np.where(has_words, text.stopwords / safe_wc, 0.0)
    m[:, col["all_upper"]] = np.fromiter(map(str.isupper, lines), dtype=bool, count=n) & (chars > 3)
    m[:, col["ends_colon"]] = last == 58
    m[:, col["position"]] = index / n
    m[:, col["in_header"]] = index <= header_end
    m[:, col["after_header"]] = (index > header_end) & (header_end >= 0)
    m[:, col["first_after_header"]] = index == header_end + 1
    m[:, col["date_like"]] = (np.abs(index - date_index) <= 1) if date_index is not None else 0.0
    m[:, col["byline_like"]] = (index == byline_index) if byline_index is not None else 0.0
    if len(set(lines)) == n:
        m[:, col["repeated"]] = 0.0
    else:
        counts = Counter(lines)
        m[:, col["repeated"]] = [counts[line] > 1 for line in lines]
    m[:, col["before_main"]] = index < first_main
    m[:, col["after_main"]] = index > last_main
    m[:, col["in_main"]] = (index >= first_main) & (index <= last_main)
    for radius, name in ((3, "dens3"), (8, "dens8")):
        lo = np.maximum(index - radius, 0)
        hi = np.minimum(index + radius + 1, n)
        m[:, col[name]] = (prose_prefix[hi] - prose_prefix[lo]) / (hi - lo)
    prev_prose = np.zeros(n)
    prev_prose[1:] = prose[:-1]
    m[:, col["prev_prose"]] = prev_prose
    next_prose = np.zeros(n)
    next_prose[:-1] = prose[1:]
    m[:, col["next_prose"]] = next_prose
    prev_words = np.zeros(n)
    prev_words[1:] = log_ew[:-1]
    m[:, col["prev_words"]] = prev_words
    next_words = np.zeros(n)
    next_words[:-1] = log_ew[1:]
    m[:, col["next_words"]] = next_words
    m[:, col["headlineish"]] = has_words & (wc >= 3) & (wc <= 14) & ~terminal & (caps_ratio >= 0.6)
    if is_known_boilerplate is not None:
        m[:, col["known_bp"]] = [bool(is_known_boilerplate(line)) for line in lines]
    else:
        m[:, col["known_bp"]] = 0.0
    # Distance (in lines) to the nearest prose line on either side.
    seen_before = np.maximum.accumulate(np.where(prose, index, -n))
    seen_after = np.minimum.accumulate(np.where(prose, index, 2 * n)[::-1])[::-1]
    gap = np.minimum(index - seen_before, seen_after - index)
    m[:, col["gap_to_prose"]] = np.minimum(gap, 10) / 10.0
    # Runs of consecutive non-prose lines (navigation, link lists, tables, short list items).
    other = ~prose
    change = np.ones(n, dtype=bool)
    change[1:] = other[1:] != other[:-1]
    run_start = np.flatnonzero(change)
    run_end = np.append(run_start[1:], n)
    run_id = np.cumsum(change) - 1
    run_len = np.where(other, (run_end - run_start)[run_id], 0)
    run_flanked = other & ((run_start > 0) & (run_end < n))[run_id]
    comment_head = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(text.has(COMMENT) & (chars <= 90)).tolist():
        comment_head[i] = _COMMENT_HEAD_LOWER_RE.search(lower_lines[i]) is not None
    m[:, col["comment_head"]] = comment_head
    first_comment = n
    if first_main < n:
        heads = np.flatnonzero(comment_head[first_main:])
        first_comment = first_main + int(heads[0]) if heads.shape[0] else n
    m[:, col["after_comments"]] = index > first_comment
    date_any = np.zeros(n)
    maybe_date = (ew <= 14) & ((text.digits > 0) | text.has(AGO))
    for i in np.flatnonzero(maybe_date).tolist():
        date_any[i] = date_lines(i)
    m[:, col["date_any"]] = date_any
    m[:, col["run_short"]] = _log1p(run_len)
    m[:, col["run_flanked"]] = run_flanked & (run_len <= 12)
    repeat = np.zeros(n)
    title_line = lines[title_index] if title_index is not None and 0 <= title_index < n else None
    if title_line is not None and len(title_line) >= 20:
        for i in text.lines_with(title_line):
            repeat[i] = i != title_index and title_line in lines[i]
    m[:, col["title_repeat"]] = repeat
    end_marker = n
    if first_main < n:
        for i in np.flatnonzero(ew[first_main + 1:] <= 6).tolist():
            if _END_MARKER_RE.match(lines[first_main + 1 + i]):
                end_marker = first_main + 1 + i
                break
    m[:, col["after_end_marker"]] = index > end_marker
    # Self-promotion in the neighbourhood (donation appeals come in blocks).
    padded = np.zeros(n + 4)
    padded[2:2 + n] = promo
    m[:, col["promo_near"]] = np.maximum.reduce([padded[k:k + n] for k in range(5)])
    return m


def _group_mean(probabilities: FloatArray, groups: npt.NDArray[np.int64]) -> FloatArray:
    sums = np.bincount(groups, weights=probabilities)
    counts = np.bincount(groups)
    return np.asarray(sums[groups] / counts[groups], dtype=np.float64)


def context_features(probabilities: FloatArray, groups: Sequence[npt.NDArray[np.int64]] = ()) -> FloatArray:
    """Layer-2 context: neighbours' layer-1 probabilities and window means (lines x 8), plus the
    mean probability of the lines sharing each grouping (HTML: same container / same grandparent)."""
    n = probabilities.shape[0]
    padded = np.zeros(n + 10)
    padded[5:5 + n] = probabilities
    cumulative = np.zeros(n + 11)
    np.cumsum(padded, out=cumulative[1:])
    out = np.empty((n, 8 + len(groups)))
    before, after = padded[4:4 + n], padded[6:6 + n]
    out[:, 0] = before
    out[:, 1] = after
    out[:, 2] = padded[3:3 + n]
    out[:, 3] = padded[7:7 + n]
    for column, radius in ((4, 2), (5, 5)):
        total = cumulative[5 + radius + 1:5 + radius + 1 + n] - cumulative[5 - radius:5 - radius + n]
        out[:, column] = total / (2 * radius + 1)
    np.maximum(before, after, out=out[:, 6])
    np.minimum(before, after, out=out[:, 7])
    for k, g in enumerate(groups):
        out[:, 8 + k] = _group_mean(probabilities, g)
    return out


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0))), dtype=np.float64)


def score_lines(features: FloatArray, layer1: FloatArray, layer2: FloatArray,
                groups: Sequence[npt.NDArray[np.int64]] = ()) -> FloatArray:
    """Body probability per line from the two logistic layers."""
    if features.shape[0] == 0:
        return np.zeros(0)
    first = _sigmoid(features @ layer1)
    stacked = np.hstack([features, context_features(first, groups)])
    return _sigmoid(stacked @ layer2)
