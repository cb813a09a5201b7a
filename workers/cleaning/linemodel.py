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
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.cleaning.boilerplate import BOILERPLATE_SHORT_RE
from workers.cleaning.dates import DIGIT_FORMS, WORD_FORMS, YEAR_FORMS, looks_like_date_line, lowered_date_line
from workers.cleaning.native import speedups as _speedups
from workers.cleaning.pagetext import (
    AGENCY,
    AGO,
    CAPTION,
    COMMENT,
    DATE_WORD,
    END_WORD,
    QUOTE_CHAR,
    SENTENCE_END_CHAR,
    SHAPE_SEPARATOR,
    SHAPE_UPPER,
    SHAPE_URL,
    TERMINAL_CHAR,
    UPPER_CHAR,
    YOU,
    PageBatch,
    PageText,
    char_table,
    page_text,
)

__all__ = [
    "FEATURE_NAMES", "LineContext", "batch_line_features", "context_features", "line_features", "score_batch",
    "score_lines",
]

FloatArray = npt.NDArray[np.float64]

_SEPARATOR_RE = re.compile(r"\s[|•·»›/]\s|\s[|•·»›]|^[|•·»›]|\|")
_URL_RE = re.compile(r"https?://|www\.|\.com\b|\.co\.uk\b|@\w", re.IGNORECASE)
_CAPTION_RE = re.compile(
    r"\((?:image|photo|picture|pic|credit|video|source|file)\b|\b(?:image|photo|picture)s?:|"
    r"\b(?:getty|afp|reuters|ap photo|shutterstock|istock|epa)\b|/\s*(?:getty|afp|reuters|ap)\b",
    re.IGNORECASE,
)
# A comment-section heading: every alternative but one is anchored at the start of the line.
_COMMENT_HEAD_AT_START = (
    r"^(?:\d+\s+)?(?:comments?|responses?|replies|reactions?|discussion)\s*(?:\(\d+\))?:?$"
    r"|^.{1,60}\s(?:says|wrote|said):?$|^leave\s+a\s+(?:reply|comment)|^(?:join|start)\s+the\s+(?:discussion|conversation)"
    r"|^(?:post|add|write|show|view|load)\s+(?:a\s+|all\s+)?comments?|^comments?\s+(?:are\s+closed|policy)"
    r"|^\d+\s+(?:comments?|responses?|replies)\b|^reply$|^report\s+(?:comment|abuse)"
)
_COMMENT_HEAD_ANYWHERE = r"save\s+my\s+name,\s+email"
_COMMENT_HEAD_RE = re.compile(f"{_COMMENT_HEAD_AT_START}|{_COMMENT_HEAD_ANYWHERE}", re.IGNORECASE)
# For lower-cased lines, in two parts: ``_COMMENT_HEAD_RE`` finds something exactly when the anchored part
# matches at the start or the other part is found anywhere, and searched whole the engine would try the
# anchored alternatives at every position of the line.
_COMMENT_HEAD_AT_START_LOWER_RE = re.compile(_COMMENT_HEAD_AT_START)
_COMMENT_HEAD_ANYWHERE_LOWER_RE = re.compile(_COMMENT_HEAD_ANYWHERE)


def _is_comment_head(lower: str) -> bool:
    """``_COMMENT_HEAD_RE.search(line) is not None`` for a lower-cased line."""
    return (_COMMENT_HEAD_AT_START_LOWER_RE.match(lower) is not None
            or _COMMENT_HEAD_ANYWHERE_LOWER_RE.search(lower) is not None)


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
_N_CONTEXT = 8
"""Columns ``context_features`` gives without groupings (the layer-2 input is the features, then these)."""
_N_STACKED = _N_BASE + _N_CONTEXT
_COLUMN = {name: k for k, name in enumerate(FEATURE_NAMES)}
_SEPARATOR_CHARS = "|•·»›/"
_URL_NEEDLES = ("://", "www.", ".co", "@")
_log1p_tables: list[FloatArray] = [np.array([math.log1p(k) for k in range(1024)], dtype=np.float64)]


def _log1p_table(top: int) -> FloatArray:
    """``math.log1p(k)`` for every ``k`` from 0 to ``top`` at least."""
    table = _log1p_tables[0]
    if top >= table.shape[0]:
        table = np.array([math.log1p(k) for k in range(max(top + 1, 2 * table.shape[0]))], dtype=np.float64)
        _log1p_tables[0] = table
    return table


def _log1p(values: npt.NDArray[np.int64]) -> FloatArray:
    """``math.log1p`` of non-negative integers, from a table (bit-identical to the per-line code)."""
    table = _log1p_table(int(values.max()) if values.shape[0] else 0)
    return np.asarray(table[values], dtype=np.float64)


class _DateLines:
    """``looks_like_date_line`` per line index, computed once per page. With the page's ``PageText``
    only lines that can pass its checks (160 characters at most, a digit or the word "ago") are tried,
    each with only the groups of forms its tokens and characters allow (``dates.lowered_date_line``)."""

    __slots__ = ("forms", "lines", "lower_lines", "seen")

    def __init__(self, lines: Sequence[str], text: PageText | None = None,
                 hints: npt.NDArray[np.uint8] | None = None) -> None:
        """``hints``, when given, is ``_DateLines.hints(text)`` (or the rows of the page in the hints of a
        batch that holds it: computed once for the batch, they spare each page a dozen numpy calls)."""
        self.lines = lines
        self.seen: dict[int, bool] = {}
        self.forms: dict[int, int] | None = None
        """The candidate lines (the only ones that can pass), each with the forms it can match."""
        self.lower_lines: Sequence[str] = lines
        if text is not None:
            forms = self.hints(text) if hints is None else hints
            candidates = forms.nonzero()[0]
            self.forms = dict(zip(candidates.tolist(), forms.take(candidates).tolist(), strict=True))
            self.lower_lines = text.lower_lines

    @property
    def candidates(self) -> list[int] | None:
        """The lines that can pass, ascending (None without the page's ``PageText``: any line can)."""
        return None if self.forms is None else list(self.forms)

    @staticmethod
    def hints(text: PageText) -> npt.NDArray[np.uint8]:
        """Per line of ``text``: the groups of forms (``dates.WORD_FORMS`` ...) the pre-check can accept it
        by, 0 for a line it rejects whatever the forms."""
        # Without a digit only "ago" as a word can make a date line (the pre-check's other forms need one).
        possible = ((text.digits > 0) | text.has(AGO)) & (text.lengths <= 160)
        forms = (text.has(DATE_WORD).view(np.uint8) * np.uint8(WORD_FORMS)
                 | text.short_date_hint.view(np.uint8) * np.uint8(DIGIT_FORMS)
                 | text.year_hint.view(np.uint8) * np.uint8(YEAR_FORMS))
        return forms * possible.view(np.uint8)

    def __call__(self, i: int) -> bool:
        found = self.seen.get(i)
        if found is None:
            if self.forms is None:
                found = looks_like_date_line(self.lines[i])
            else:
                forms = self.forms.get(i)
                if forms is None:
                    return False
                # (a candidate passed the pre-check's length and digit tests; its lower-cased line is at hand)
                found = lowered_date_line(self.lower_lines[i], forms)
            self.seen[i] = found
        return found


@dataclass(frozen=True, slots=True)
class LineContext:
    """What ``line_features`` needs to know about one page besides its lines: the headline block found
    above the body, whether the script writes words without spaces, and the page's own callbacks."""

    header_end: int
    date_index: int | None
    byline_index: int | None
    date_lines: Callable[[int], bool]
    title_index: int | None = None
    cjk: bool = False
    is_known_boilerplate: Callable[[str], bool] | None = None


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
    if not lines:
        return np.zeros((0, _N_BASE))
    text = signals if signals is not None else page_text(lines)
    context = LineContext(
        header_end=header_end, date_index=date_index, byline_index=byline_index,
        date_lines=date_lines if date_lines is not None else _DateLines(lines, text),
        title_index=title_index, cjk=cjk, is_known_boilerplate=is_known_boilerplate,
    )
    return batch_line_features(PageBatch(text, [0, len(lines)], [text]), [context])


class _Pages:
    """Where each line of a batch sits: its page (among the pages with lines), the page's first line
    and size, and the line's index in its page; ``spread`` gives every line a per-page value."""

    def __init__(self, bounds: Sequence[int]) -> None:
        edges = np.asarray(bounds, dtype=np.int64)
        sizes = np.diff(edges)
        self.kept = np.flatnonzero(sizes).tolist()
        """The pages that have lines (in batch order)."""
        self.starts = edges[:-1][sizes > 0]
        self.sizes = sizes[sizes > 0]
        self.page = np.repeat(np.arange(self.sizes.shape[0]), self.sizes)
        self.first = self.starts.take(self.page)
        self.n = self.sizes.take(self.page)
        self.index = np.arange(self.page.shape[0]) - self.first

    def spread(self, values: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Per-page values (one per page with lines) repeated for every line of the page."""
        return np.asarray(values, dtype=np.int64).take(self.page)

    def shifted(self, values: npt.NDArray[Any], shift: int) -> FloatArray:
        """Each line's value of the line ``shift`` lines further down its page (0.0 past the page's edges)."""
        total = values.shape[0]
        out = np.zeros(total)
        if shift >= 0:
            out[:total - shift] = values[shift:]
        else:
            out[-shift:] = values[:total + shift]
        out[(self.index + shift < 0) | (self.index + shift >= self.n)] = 0.0
        return out

    def reduce(self, ufunc: np.ufunc, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """``ufunc`` reduced over each page's lines (one value per page with lines)."""
        return np.asarray(ufunc.reduceat(values, self.starts), dtype=np.int64)


_NATIVE_COLUMNS = (
    "bias", "log_words", "log_chars", "terminal", "sentence_end", "long15", "short3", "starts_upper", "starts_quote",
    "titlecase_ratio", "digit_ratio", "phrase", "promo", "you", "we", "separator", "url", "comma_ratio",
    "stop_ratio", "all_upper", "ends_colon", "position", "in_header", "after_header", "first_after_header",
    "date_like", "byline_like", "before_main", "after_main", "in_main", "dens3", "dens8", "prev_prose",
    "next_prose", "prev_words", "next_words", "headlineish", "gap_to_prose", "run_short", "run_flanked",
    "promo_near",
)
"""The columns the native helper fills, in its order (``_speedups.c``, ``line_columns``)."""
_NATIVE_COLUMN_INDEX = np.array([_COLUMN[name] for name in _NATIVE_COLUMNS], dtype=np.int64)


def batch_line_features(batch: PageBatch, contexts: Sequence[LineContext]) -> FloatArray:
    """``line_features`` of every page of ``batch`` (``contexts[k]`` describes page ``k``), stacked: page
    ``k`` is rows ``batch.bounds[k]:batch.bounds[k + 1]``. Columns are computed over all lines at once;
    nothing crosses a page boundary (windows, neighbours and runs stop at the page's edges). The numeric
    columns come from the native helper when it is built (and the counting pass ran there), else from
    numpy; both give the same values, bit for bit."""
    text = batch.whole
    lines = text.lines
    total = len(lines)
    if total == 0:
        return np.zeros((0, _N_BASE))
    pages = _Pages(batch.bounds)
    kept = [contexts[k] for k in pages.kept]
    kept_text = [batch.pages[k] for k in pages.kept]
    index, n = pages.index, pages.n
    col = _COLUMN
    wc = text.words
    chars = text.lengths
    # The features are the left columns of an array wide enough for ``score_batch``'s layer-2 input, which
    # then adds its context columns in place instead of copying the features into a new array.
    wide = np.empty((total, _N_STACKED), dtype=np.float64)
    m = wide[:, :_N_BASE]
    if _speedups is not None and text.shape is not None:
        ew, first_main = _native_columns(wide, text, pages, kept)
    else:
        ew, first_main = _numpy_columns(m, text, pages, kept)
    short_nav = np.zeros(total)
    # The pattern is a few navigation words between non-word characters: every token is one of them
    # (told from the lower-cased tokens unless the page has special case folding).
    folding = pages.spread([t.special_case_folding for t in kept_text]) != 0
    maybe_nav = (wc <= 4) & (folding | ((text.lower_words > 0) & (text.nav_words == text.lower_words)))
    # Navigation labels repeat ("Share", "Home", ...): the regex runs once per distinct line.
    nav_match = BOILERPLATE_SHORT_RE.match
    is_nav: dict[str, bool] = {}
    nav_lines: list[int] = []
    for i in np.flatnonzero(maybe_nav).tolist():
        line = lines[i]
        found = is_nav.get(line)
        if found is None:
            found = is_nav[line] = nav_match(line) is not None
        if found:
            nav_lines.append(i)
    short_nav[nav_lines] = 1.0
    m[:, col["short_nav"]] = short_nav
    lower_lines = text.lower_lines
    agency = text.has(AGENCY)
    if _speedups is not None and isinstance(lower_lines, list):
        # The caption regex's equivalent in C on the lines with a caption word but no agency's name.
        caption = text.has(CAPTION)
        searched = np.frombuffer(_speedups.caption_lines(lower_lines, np.flatnonzero(caption & ~agency), char_table()),
                                 dtype=np.uint8)
        m[:, col["caption"]] = (caption & agency) | (searched != 0)
    else:
        flags = np.zeros(total)
        for i in np.flatnonzero(text.has(CAPTION)).tolist():
            lower = lower_lines[i]
            if agency[i]:
                flags[i] = True
            elif "(" in lower or ":" in lower or "/" in lower or "ap photo" in lower:
                # Without an agency's name the caption regex needs one of these around its word.
                flags[i] = _CAPTION_LOWER_RE.search(lower) is not None
        m[:, col["caption"]] = flags
    comment_head = np.zeros(total, dtype=bool)
    for i in np.flatnonzero(text.has(COMMENT) & (chars <= 90)).tolist():
        comment_head[i] = _is_comment_head(lower_lines[i])
    m[:, col["comment_head"]] = comment_head
    first_comment = pages.reduce(np.minimum, np.where(comment_head & (index >= first_main), index, n))
    m[:, col["after_comments"]] = index > pages.spread(first_comment)
    date_any = np.zeros(total)
    # A page's own _DateLines says no to every line outside its candidates (160 characters at most, a date
    # hint): those are not asked.
    unhinted = pages.spread([not (isinstance(c.date_lines, _DateLines) and c.date_lines.forms is not None)
                             for c in kept]) != 0
    maybe_date = np.flatnonzero((ew <= 14) & ((text.digits > 0) | text.has(AGO))
                                & (unhinted | ((chars <= 160) & text.date_hint)))
    for i, page, at in zip(maybe_date.tolist(), pages.page.take(maybe_date).tolist(),
                           index.take(maybe_date).tolist(), strict=True):
        date_any[i] = kept[page].date_lines(at)
    m[:, col["date_any"]] = date_any
    end_marker = pages.sizes.tolist()
    marked: set[int] = set()
    # The line's first token is one of the markers' first words (unless the page has special case folding).
    maybe_end = np.flatnonzero((ew <= 6) & (index > first_main) & (folding | ((text.first_token_bits & END_WORD) != 0)))
    for i, page, at in zip(maybe_end.tolist(), pages.page.take(maybe_end).tolist(),
                           index.take(maybe_end).tolist(), strict=True):
        if page not in marked and _END_MARKER_RE.match(lines[i]):
            end_marker[page] = at
            marked.add(page)
    m[:, col["after_end_marker"]] = index > pages.spread(end_marker)
    m[:, col["repeated"]] = 0.0
    m[:, col["known_bp"]] = 0.0
    m[:, col["title_repeat"]] = 0.0
    if _speedups is not None:
        # Lines that occur more than once in their page, for all pages at once.
        bounds = [0, *np.cumsum(pages.sizes).tolist()]
        repeated = _speedups.repeated_lines(lines if isinstance(lines, list) else list(lines), bounds)
        m[:, col["repeated"]] = np.frombuffer(repeated, dtype=np.uint8)
    for lo, size, context, page_text_ in zip(pages.starts.tolist(), pages.sizes.tolist(), kept, kept_text,
                                             strict=True):
        if _speedups is None or context.is_known_boilerplate is not None or context.title_index is not None:
            _page_columns(m[lo:lo + size], page_text_, context, repeats=_speedups is None)
    return m


def _native_columns(m: FloatArray, text: PageText, pages: _Pages,
                    kept: Sequence[LineContext]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``_numpy_columns`` computed by the native helper in one pass over the lines; ``m`` is C-contiguous
    with the feature columns first (any columns after them are left alone)."""
    assert _speedups is not None and text.shape is not None  # noqa: S101 - the caller checks
    chars = text.lengths
    log1p = _log1p_table(max(int(chars.max()), chars.shape[0]))
    per_line = (text.words, chars, text.capitalised, text.digits, text.commas, text.stopwords, text.we_words,
                text.token_bits, text.promo, text.first_cp, text.last_cp, text.phrase, text.shape)
    per_page = (pages.starts, pages.sizes, np.array([c.cjk for c in kept], dtype=np.int64),
                np.array([c.header_end for c in kept], dtype=np.int64),
                np.array([-1 if c.date_index is None else c.date_index for c in kept], dtype=np.int64),
                np.array([-1 if c.byline_index is None else c.byline_index for c in kept], dtype=np.int64))
    bits = (TERMINAL_CHAR, SENTENCE_END_CHAR, UPPER_CHAR, QUOTE_CHAR, YOU, SHAPE_UPPER, SHAPE_SEPARATOR, SHAPE_URL)
    ew, first_main = _speedups.line_columns(
        m, _NATIVE_COLUMN_INDEX, tuple(a if isinstance(a, list) else np.ascontiguousarray(a) for a in per_line),
        tuple(np.ascontiguousarray(a) for a in per_page), char_table(), log1p, bits)
    return np.frombuffer(ew, dtype=np.int64), pages.spread(np.frombuffer(first_main, dtype=np.int64))


def _numpy_columns(m: FloatArray, text: PageText, pages: _Pages,
                   kept: Sequence[LineContext]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The columns of ``_NATIVE_COLUMNS`` into ``m``, with whole-array numpy operations; returns each line's
    words (characters / 3 on pages written without spaces, if more) and its page's first main line."""
    lines = text.lines
    total = len(lines)
    index, n, first_line = pages.index, pages.n, pages.first
    col = _COLUMN
    wc = text.words
    chars = text.lengths
    cjk = pages.spread([c.cjk for c in kept]) != 0
    ew = np.where(cjk, np.maximum(wc, chars // 3), wc)
    table = char_table()
    last, first = text.last_cp, text.first_cp
    last_class, first_class = table[last], table[first]
    terminal = (last_class & TERMINAL_CHAR) != 0
    prose = (ew >= 15) | ((ew >= 5) & terminal)
    # The main run of long paragraphs: the first long line below the headline block (or the first
    # at all) down to the last one; "long" is relative to the page's longest paragraph.
    longest = pages.reduce(np.maximum, np.where(prose, ew, 0))
    is_long = prose & (ew >= pages.spread(np.minimum(20, np.maximum(10, longest // 2))))
    header_end = pages.spread([c.header_end for c in kept])
    first_long = pages.reduce(np.minimum, np.where(is_long, index, total))
    first_after = pages.reduce(np.minimum, np.where(is_long & (index > header_end), index, total))
    first_main_of = np.where(first_after < total, first_after, np.where(first_long < total, first_long, pages.sizes))
    first_main = pages.spread(first_main_of)
    last_main = pages.spread(pages.reduce(np.maximum, np.where(is_long, index, -1)))
    prose_prefix = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(prose, out=prose_prefix[1:])

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
    promo_counts = np.asarray(text.promo, dtype=np.int64)
    promo = np.minimum(np.where(wc >= 4, promo_counts, 0), 3) / 3.0
    m[:, col["promo"]] = promo
    m[:, col["you"]] = text.has(YOU)
    m[:, col["we"]] = text.we_words >= 2
    shape = text.shape
    if shape is not None:  # the native counting pass ran the separator and URL regexes' equivalents
        m[:, col["separator"]] = (shape & SHAPE_SEPARATOR) != 0
        m[:, col["url"]] = (shape & SHAPE_URL) != 0
    else:
        flags = np.zeros(total)
        for i in sorted({i for c in _SEPARATOR_CHARS for i in text.lines_with(c)}):
            flags[i] = _SEPARATOR_RE.search(lines[i]) is not None
        m[:, col["separator"]] = flags
        flags = np.zeros(total)
        for i in sorted({i for c in _URL_NEEDLES for i in text.lines_with(c, lower=True)}):
            flags[i] = _URL_RE.search(lines[i]) is not None
        m[:, col["url"]] = flags
    m[:, col["comma_ratio"]] = text.commas / (wc + 1)
    m[:, col["stop_ratio"]] = np.where(has_words, text.stopwords / safe_wc, 0.0)
    upper = (shape & SHAPE_UPPER) != 0 if shape is not None else np.fromiter(map(str.isupper, lines), dtype=bool,
                                                                             count=total)
    m[:, col["all_upper"]] = upper & (chars > 3)
    m[:, col["ends_colon"]] = last == 58
    m[:, col["position"]] = index / n
    m[:, col["in_header"]] = index <= header_end
    m[:, col["after_header"]] = (index > header_end) & (header_end >= 0)
    m[:, col["first_after_header"]] = index == header_end + 1
    for name, at, near in (("date_like", [c.date_index for c in kept], 1),
                           ("byline_like", [c.byline_index for c in kept], 0)):
        found = pages.spread([-1 if i is None else i for i in at])
        m[:, col[name]] = (found >= 0) & (np.abs(index - found) <= near)
    m[:, col["before_main"]] = index < first_main
    m[:, col["after_main"]] = index > last_main
    m[:, col["in_main"]] = (index >= first_main) & (index <= last_main)
    for radius, name in ((3, "dens3"), (8, "dens8")):
        lo = np.maximum(index - radius, 0)
        hi = np.minimum(index + radius + 1, n)
        m[:, col[name]] = (prose_prefix[first_line + hi] - prose_prefix[first_line + lo]) / (hi - lo)
    for name, values in (("prose", prose), ("words", log_ew)):
        m[:, col[f"prev_{name}"]] = pages.shifted(values, -1)
        m[:, col[f"next_{name}"]] = pages.shifted(values, 1)
    m[:, col["headlineish"]] = has_words & (wc >= 3) & (wc <= 14) & ~terminal & (caps_ratio >= 0.6)
    # Distance (in lines) to the nearest prose line on either side; a page without one on a side
    # counts the distance to a line n before its start (or n after its end).
    line = np.arange(total)
    seen_before = np.maximum.accumulate(np.where(prose, line, -1))
    seen_after = np.minimum.accumulate(np.where(prose, line, total)[::-1])[::-1]
    gap = np.minimum(np.where(seen_before >= first_line, line - seen_before, index + n),
                     np.where(seen_after < first_line + n, seen_after - line, 2 * n - index))
    m[:, col["gap_to_prose"]] = np.minimum(gap, 10) / 10.0
    # Runs of consecutive non-prose lines (navigation, link lists, tables, short list items).
    other = ~prose
    change = np.ones(total, dtype=bool)
    change[1:] = other[1:] != other[:-1]
    change[pages.starts] = True
    run_start = np.flatnonzero(change)
    run_end = np.append(run_start[1:], total)
    run_id = np.cumsum(change) - 1
    run_len = np.where(other, (run_end - run_start)[run_id], 0)
    run_page_end = first_line.take(run_start) + n.take(run_start)
    run_flanked = other & ((run_start > first_line.take(run_start)) & (run_end < run_page_end))[run_id]
    m[:, col["run_short"]] = _log1p(run_len)
    m[:, col["run_flanked"]] = run_flanked & (run_len <= 12)
    # Self-promotion in the neighbourhood (donation appeals come in blocks).
    m[:, col["promo_near"]] = np.maximum.reduce([pages.shifted(promo, shift) for shift in range(-2, 3)])
    return ew, first_main


def _page_columns(m: FloatArray, text: PageText, context: LineContext, *, repeats: bool) -> None:
    """The columns that look at a page's lines as a whole, into ``m`` (the page's rows, where these
    columns are zero): repeats (when ``repeats``), known boilerplate and title repeats."""
    col = _COLUMN
    lines = text.lines
    n = len(lines)
    if repeats and len(set(lines)) != n:
        counts = Counter(lines)
        m[:, col["repeated"]] = [counts[line] > 1 for line in lines]
    known = context.is_known_boilerplate
    if known is not None:
        m[:, col["known_bp"]] = [bool(known(line)) for line in lines]
    title_index = context.title_index
    title_line = lines[title_index] if title_index is not None and 0 <= title_index < n else None
    if title_line is not None and len(title_line) >= 20:
        # (usually the title's own line is the only one that holds it: nothing to set)
        repeats_at = [i for i in text.lines_with(title_line) if i != title_index and title_line in lines[i]]
        if repeats_at:
            m[repeats_at, col["title_repeat"]] = 1.0


def _group_mean(probabilities: FloatArray, groups: npt.NDArray[np.int64]) -> FloatArray:
    sums = np.bincount(groups, weights=probabilities)
    counts = np.bincount(groups)
    return np.asarray(sums[groups] / counts[groups], dtype=np.float64)


def context_features(probabilities: FloatArray, groups: Sequence[npt.NDArray[np.int64]] = ()) -> FloatArray:
    """Layer-2 context: neighbours' layer-1 probabilities and window means (lines x 8), plus the
    mean probability of the lines sharing each grouping (HTML: same container / same grandparent)."""
    n = probabilities.shape[0]
    out = np.empty((n, 8 + len(groups)))
    _page_context(probabilities, _Pages([0, n]), out)
    for k, g in enumerate(groups):
        out[:, 8 + k] = _group_mean(probabilities, g)
    return out


def _page_context(probabilities: FloatArray, pages: _Pages, out: FloatArray, first: int = 0) -> None:
    """The 8 neighbourhood columns of ``context_features`` for every page of a batch, into columns
    ``first:first + 8`` of ``out``."""
    before, after = pages.shifted(probabilities, -1), pages.shifted(probabilities, 1)
    out[:, first] = before
    out[:, first + 1] = after
    out[:, first + 2] = pages.shifted(probabilities, -2)
    out[:, first + 3] = pages.shifted(probabilities, 2)
    # Window means from each page's own running sum (summed page by page: the same rounding as one page).
    if (_speedups is not None and out.dtype == np.float64 and out.ndim == 2 and out.flags.c_contiguous
            and probabilities.dtype == np.float64 and probabilities.flags.c_contiguous):
        starts, sizes = np.ascontiguousarray(pages.starts), np.ascontiguousarray(pages.sizes)
        for column, radius in ((4, 2), (5, 5)):
            _speedups.window_means(probabilities, starts, sizes, out, out.shape[1], first + column, radius)
    else:
        for lo, n in zip(pages.starts.tolist(), pages.sizes.tolist(), strict=True):
            padded = np.zeros(n + 10)
            padded[5:5 + n] = probabilities[lo:lo + n]
            cumulative = np.zeros(n + 11)
            np.cumsum(padded, out=cumulative[1:])
            for column, radius in ((4, 2), (5, 5)):
                total = cumulative[5 + radius + 1:5 + radius + 1 + n] - cumulative[5 - radius:5 - radius + n]
                out[lo:lo + n, first + column] = total / (2 * radius + 1)
    np.maximum(before, after, out=out[:, first + 6])
    np.minimum(before, after, out=out[:, first + 7])


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


def score_batch(features: FloatArray, bounds: Sequence[int], layer1: FloatArray, layer2: FloatArray) -> FloatArray:
    """``score_lines`` of every page of a batch (page ``k`` is rows ``bounds[k]:bounds[k + 1]`` of
    ``features``), stacked the same way. The products with the weights are taken page by page, so every
    value is the one ``score_lines`` gives for the page alone."""
    if features.shape[0] == 0:
        return np.zeros(0)
    pages = _Pages(bounds)
    spans = [(lo, lo + n) for lo, n in zip(pages.starts.tolist(), pages.sizes.tolist(), strict=True)]
    # (each page's product written straight into its rows of one array: no list of arrays to concatenate)
    products = np.empty(features.shape[0])
    for lo, hi in spans:
        np.matmul(features[lo:hi], layer1, out=products[lo:hi])
    first = _sigmoid(products)
    stacked = _widened(features)
    if stacked is None:
        stacked = np.empty((features.shape[0], features.shape[1] + _N_CONTEXT))
        stacked[:, :features.shape[1]] = features
    _page_context(first, pages, stacked, features.shape[1])
    for lo, hi in spans:
        np.matmul(stacked[lo:hi], layer2, out=products[lo:hi])
    return _sigmoid(products)


def _widened(features: FloatArray) -> FloatArray | None:
    """The array ``batch_line_features`` made ``features`` the left columns of (it has room for the layer-2
    context columns after them), or None when ``features`` is not such a view. Only the columns after the
    features are written to: ``features`` itself does not change."""
    wide = features.base
    if (not isinstance(wide, np.ndarray) or wide.dtype != np.float64 or wide.ndim != 2
            or not wide.flags.c_contiguous or not wide.flags.writeable
            or wide.shape != (features.shape[0], features.shape[1] + _N_CONTEXT)
            or features.strides != wide.strides or features.ctypes.data != wide.ctypes.data):
        return None
    return wide
