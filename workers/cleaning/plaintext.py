"""Plain-text article extraction: classify the lines of a scraped page as header, body or boilerplate."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from workers.cleaning.boilerplate import (
    LINK_LABEL_RE,
)
from workers.cleaning.byline import parse_byline
from workers.cleaning.dates import parse_date_text
from workers.cleaning.line_weights import BODY_THRESHOLD, LAYER1_WEIGHTS, LAYER2_WEIGHTS
from workers.cleaning.linemodel import FloatArray, LineContext, _DateLines, batch_line_features, score_batch
from workers.cleaning.native import speedups as _speedups
from workers.cleaning.pagetext import WE, PageText, page_batch, page_text

__all__ = [
    "BATCH_CHARS", "PageLines", "TextArticle", "TextPage", "analyse_page", "analyse_pages", "body_indices",
    "extract_text_article", "extract_text_articles", "split_lines", "without_copies",
]

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff\ufffd]")
_LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_WE_RE = re.compile(r"\b(?:we|our|us)\b", re.IGNORECASE)
# ``_WE_RE`` for lower-cased text, with the same matches: each word's first letter comes first and the word
# boundary before it is tested after it, as "no word character before it" (``(?<!\w\w)``), so that the engine
# only tries the places holding a "w", "o" or "u" (not every place of a long paragraph).
_WE_LOWER_RE = re.compile(r"(?:w(?<!\w\w)e|o(?<!\w\w)ur|u(?<!\w\w)s)\b")
_QUOTED_RE = re.compile(r"[“\"][^”\"]*[”\"]")
_TERMINAL = frozenset(".!?\"”’'):;…»」。！？")

MAX_LINES = 5000
"""Lines beyond this are not examined (flag ``truncated``); no real article is that long."""
BATCH_CHARS = 250_000
"""Pages are analysed together until their lines hold this many characters (a larger page on its own)."""
_HEADER_SCAN_FRACTION = 0.6
_COPY_MIN_CHARS = 30
"""Body lines this long or longer are kept once (see ``without_copies``)."""
_DUMP_MIN_CHARS = 400
_DUMP_LENGTH_FACTOR = 2
"""A line is tried as a dump of the body when it is this many times the page's median body line, and at
least ``_DUMP_MIN_CHARS`` long,"""
_DUMP_COVERED = 0.8
"""and dropped when shorter body lines found in it word for word make up this share of its characters."""
_HEADER_SCAN_MIN = 40


@dataclass(slots=True)
class TextArticle:
    """What the plain-text extractor found (mutable while it is being built)."""

    title: str | None = None
    standfirst: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    body: list[str] = field(default_factory=list)
    lines_in: int = 0
    lines_removed: int = 0
    truncated: bool = False


def split_lines(text: str) -> list[str]:
    """Non-empty, stripped lines of ``text`` with control characters removed."""
    if _speedups is not None:
        # The same lines, split and stripped in C: after the control characters are gone, both ways below
        # break at exactly \r\n, \r, \n, \u2028 and \u2029 and strip what ``str.strip`` strips.
        if _speedups.has_control_chars(text):
            text = _CONTROL_RE.sub("", text)
        return _speedups.split_clean_lines(text, MAX_LINES + 1)
    text = _CONTROL_RE.sub("", text)
    if "\x85" not in text:
        # After the control characters are gone, str.splitlines breaks at exactly \r\n, \r, \n, \u2028
        # and \u2029 (plus NEL, excluded here), like _LINE_SPLIT_RE, and runs in C.
        lines = [line for line in map(str.strip, text.splitlines()) if line]
        return lines[:MAX_LINES + 1]
    lines = []
    for line in _LINE_SPLIT_RE.split(text):
        stripped = line.strip()
        if stripped:
            lines.append(stripped)
            if len(lines) > MAX_LINES:
                break
    return lines


def _is_prose(line: str, words: int) -> bool:
    if words >= 15:
        return True
    return words >= 5 and line[-1] in _TERMINAL


def _is_headline(line: str, words: int) -> bool:
    return 3 <= words <= 40 and 15 <= len(line) <= 300 and not line.endswith((".", ":", ",", ";"))


def _is_deck_below(lines: list[str], word_counts: Sequence[int], title: int, deck: int) -> bool:
    """Two headline-shaped lines above the byline: the second is the deck (standfirst) when it is the
    longer one and neither looks like a navigation trail."""
    return (
        _is_headline(lines[deck], word_counts[deck])
        and word_counts[deck] > word_counts[title] >= 4
        and not any(sep in lines[k] for k in (title, deck) for sep in ("|", "•", "›", "»"))
    )


@dataclass(slots=True)
class _Header:
    title: int | None = None
    standfirst: int | None = None
    byline: int | None = None
    date: int | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None

    def last_index(self) -> int:
        found = [i for i in (self.title, self.standfirst, self.byline, self.date) if i is not None]
        return max(found) if found else -1


def _find_header(lines: list[str], word_counts: Sequence[int], fetched_at: datetime | None,
                 date_lines: _DateLines | None = None, byline_starts: Collection[int] | None = None) -> _Header:
    """Headline, standfirst, byline and dateline near the top of the page. ``byline_starts``, when
    given, holds every line that can be a "By ..." byline (others are not parsed)."""
    header = _Header()
    limit = max(_HEADER_SCAN_MIN, int(len(lines) * _HEADER_SCAN_FRACTION))
    if date_lines is None:
        date_lines = _DateLines(lines)
    candidates = date_lines.candidates
    scan = range(min(limit, len(lines))) if candidates is None else candidates
    for i in scan:
        if i >= limit:
            break
        if word_counts[i] > 25 or not date_lines(i):
            continue
        line = lines[i]
        moment = parse_date_text(line, fetched_at=fetched_at)
        if moment is not None:
            header.date, header.published_at = i, moment
            break
    anchor = header.date
    # Byline: "By ..." anywhere near the top, or a bare name right next to the dateline.
    window: Iterable[int]
    if anchor is not None:
        window = range(max(0, anchor - 3), min(len(lines), anchor + 3))
    elif byline_starts is None:
        window = range(min(limit, len(lines)))
    else:
        # Without a dateline only a "By ..." line can be the byline: the others are not even visited.
        stop = min(limit, len(lines))
        window = sorted(i for i in byline_starts if i < stop)
    for i in window:
        names = parse_byline(lines[i]) if byline_starts is None or i in byline_starts else None
        if names is None and anchor is not None and abs(i - anchor) <= 1 and i != anchor:
            names = parse_byline(lines[i], bare=True)
        if names:
            header.byline, header.authors = i, names
            break
    if header.byline is None and anchor is not None and (byline_starts is None or anchor in byline_starts):
        # The dateline itself may carry the byline: "By Jane Doe | Feb 5, 2024". (Its part before the "|" starts
        # where the line starts: when the line cannot be a "By ..." byline, that part cannot either.)
        names = parse_byline(lines[anchor].split("|")[0])
        if names:
            header.byline, header.authors = anchor, names
    top_candidates = [i for i in (header.byline, header.date) if i is not None]
    if not top_candidates:
        return header
    top = min(top_candidates)
    # Headline and standfirst sit just above the byline/dateline.
    above = [i for i in range(max(0, top - 4), top) if i not in (header.byline, header.date)]
    if not above:
        return header
    last = above[-1]
    before = above[-2] if len(above) >= 2 else None
    if before is not None and _is_headline(lines[before], word_counts[before]) and (
            _is_prose(lines[last], word_counts[last]) or _is_deck_below(lines, word_counts, before, last)):
        header.title, header.standfirst = before, last
    elif _is_headline(lines[last], word_counts[last]):
        header.title = last
    return header


def _is_cjk_text(lines: list[str]) -> bool:
    if _speedups is not None and isinstance(lines, list):
        spaces, size = _speedups.sample_spaces(lines, 200, 6000)
    else:
        sample = "".join(lines[:200])[:6000]
        spaces, size = sample.count(" "), len(sample)
    if not size:
        return False
    return bool(spaces / size < 0.04)


@dataclass(slots=True)
class PageLines:
    """A plain-text page split into lines, with its header found and its line features computed."""

    lines: list[str]
    header: _Header
    header_end: int
    features: FloatArray
    groups: tuple[npt.NDArray[np.int64], ...] = ()
    signals: PageText | None = None


@dataclass(frozen=True, slots=True)
class TextPage:
    """One plain-text page to analyse, with what is known about it."""

    text: str
    fetched_at: datetime | None = None
    is_known_boilerplate: Callable[[str], bool] | None = None


@dataclass(frozen=True, slots=True)
class _Analysed:
    """Pages analysed together: their ``PageLines`` and their features stacked (page ``k`` is rows
    ``bounds[k]:bounds[k + 1]``; each page's ``features`` is a view of those rows)."""

    sources: Sequence[TextPage]
    pages: list[PageLines]
    features: FloatArray
    bounds: list[int]


def analyse_page(
    text: str,
    *,
    fetched_at: datetime | None = None,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> PageLines:
    """Split ``text`` into lines, find the headline block and compute the line features."""
    return analyse_pages([TextPage(text, fetched_at, is_known_boilerplate)])[0]


def analyse_pages(pages: Sequence[TextPage]) -> list[PageLines]:
    """``analyse_page`` of every page, computed in batches of pages (same results, less overhead)."""
    return [page for analysed in _analyse_batches(pages) for page in analysed.pages]


def _analyse_batches(pages: Sequence[TextPage]) -> Iterator[_Analysed]:
    """Pages analysed in batches of at most ``BATCH_CHARS`` characters of lines (a larger page alone), so
    the working memory of a batch stays that of a page of bounded size."""
    split = [split_lines(page.text)[:MAX_LINES] for page in pages]
    lo = 0
    while lo < len(pages):
        hi, size = lo + 1, sum(map(len, split[lo]))
        while hi < len(pages) and size + (more := sum(map(len, split[hi]))) <= BATCH_CHARS:
            hi, size = hi + 1, size + more
        yield _analyse_batch(pages[lo:hi], split[lo:hi])
        lo = hi


def _analyse_batch(pages: Sequence[TextPage], split: list[list[str]]) -> _Analysed:
    batch = page_batch(split)
    headers: list[_Header] = []
    contexts: list[LineContext] = []
    date_hints = _DateLines.hints(batch.whole)
    words = batch.whole.words.tolist()  # (one numpy call for the batch, then a slice per page)
    for page, lines, signals, (lo, hi) in zip(pages, split, batch.pages, pairwise(batch.bounds), strict=True):
        date_lines = _DateLines(lines, signals, hints=date_hints[lo:hi])
        header = _find_header(lines, words[lo:hi], page.fetched_at, date_lines,
                              signals.byline_starts) if lines else _Header()
        headers.append(header)
        contexts.append(LineContext(
            header_end=header.last_index(), date_index=header.date, byline_index=header.byline,
            date_lines=date_lines, title_index=header.title, cjk=_is_cjk_text(lines),
            is_known_boilerplate=page.is_known_boilerplate,
        ))
    features = batch_line_features(batch, contexts)
    bounds = batch.bounds
    analysed = [
        PageLines(lines=lines, header=header, header_end=context.header_end,
                  features=features[bounds[k]:bounds[k + 1]], signals=signals)
        for k, (lines, header, context, signals) in enumerate(zip(split, headers, contexts, batch.pages, strict=True))
    ]
    return _Analysed(pages, analysed, features, bounds)


def appeal_block_indices(lines: Sequence[str], signals: PageText | None = None) -> set[int]:
    """Lines of reader appeals (donation, membership, registration pitches), whatever the model says.

    A line is an appeal when it is heavy with self-promotion words, or names an appeal phrase and
    talks to or about the reader/site; prose lines with some self-promotion that touch an appeal
    line are part of the same block; so are link labels. (The lines ``_without_appeals`` drops when
    every line is a candidate: one rule, decided in one place.)
    """
    every = list(range(len(lines)))
    return set(every).difference(_without_appeals(lines, signals, every))


def _without_appeals(lines: Sequence[str], signals: PageText | None, candidates: list[int]) -> list[int]:
    """``candidates`` (ascending) without the appeal lines, each decided from the lines around it instead of
    building the page's whole set of appeals: few lines are body candidates, and most are far from any appeal.

    An appeal line is a link label, a strong line (``strong`` below: an appeal line or one sandwiched between
    two), or a weak line joined to a strong one by a run of weak lines (an appeal block spreads to a weak
    neighbour, and to nothing else). So a weak candidate is an appeal exactly when the run of weak, not
    strong lines around it touches a strong line; the candidates of one run share the answer, so no line is
    walked over more than twice.
    """
    n = len(lines)
    if signals is None:
        signals = page_text(lines)
    promo = signals.promo
    phrase = signals.phrase
    token_bits = signals.token_bits
    we_words = signals.we_words
    lower_lines = signals.lower_lines

    def appeal(i: int) -> bool:  # promo >= 3, or an appeal phrase with some promotion or in a short line
        return promo[i] >= 3 or (phrase[i] and (promo[i] >= 1 or len(lines[i]) < 120))

    def strong(i: int) -> bool:  # an appeal line, or a short line sandwiched between two
        return appeal(i) or (0 < i < n - 1 and len(lines[i]) < 80 and lines[i][-1] not in _TERMINAL
                             and appeal(i - 1) and appeal(i + 1))

    def weak(i: int) -> bool:  # some promotion, or first-person words ("we", "our", "us") twice outside quotes
        if promo[i]:
            return True
        if not token_bits.item(i) & WE:
            return False
        line = lower_lines[i]
        if '"' in line or "“" in line:
            return len(_WE_LOWER_RE.findall(_QUOTED_RE.sub("", line))) >= 2
        return bool(we_words.item(i) >= 2)  # nothing quoted: the regex would count exactly these tokens

    kept: list[int] = []
    run_end, run_joined = -1, False  # the last run of weak lines walked (it ends at ``run_end``)
    for i in candidates:
        line = lines[i]
        if not (promo[i] or phrase[i] or ":" in line or token_bits.item(i) & WE
                or (len(line) < 80 and 0 < i < n - 1 and line[-1] not in _TERMINAL)):
            # (the usual body line: neither strong, weak nor a link label, told without a call)
            kept.append(i)
            continue
        if strong(i) or (":" in line and len(line) < 200 and LINK_LABEL_RE.match(line)):
            continue  # (every link label has a colon)
        if i > run_end:
            if not weak(i):
                kept.append(i)
                continue
            start = i - 1
            while start >= 0 and not strong(start) and weak(start):
                start -= 1
            end = i + 1
            while end < n and not strong(end) and weak(end):
                end += 1
            # (the run is lines start + 1 to end - 1; a line just past it is strong, not weak or off the page)
            run_end, run_joined = end - 1, (start >= 0 and strong(start)) or (end < n and strong(end))
        if not run_joined:
            kept.append(i)
    return kept


def body_indices(page: PageLines, probabilities: FloatArray, threshold: float = BODY_THRESHOLD) -> list[int]:
    """Indices of the lines kept as body: above threshold, not in the headline block, no appeal."""
    return _body_lines(page, np.flatnonzero(probabilities >= threshold).tolist())


def _body_lines(page: PageLines, above: list[int]) -> list[int]:
    """``body_indices`` of a page given its lines above the threshold (ascending)."""
    header = page.header
    skip = {i for i in (header.title, header.standfirst, header.byline, header.date) if i is not None}
    candidates = [i for i in above if i not in skip] if skip else above
    if not candidates:
        return candidates
    return without_copies(page.lines, _without_appeals(page.lines, page.signals, candidates))


def without_copies(lines: Sequence[str], kept: list[int]) -> list[int]:
    """``kept`` (indices of body lines, ascending) without the copies of other body lines.

    Two kinds of copy, both left by scrapers that make hidden text visible, and both counted twice by any
    reader of the body: a line equal to an earlier kept line (a caption under every photo, a teaser
    carousel shown at the top and the bottom, a pull quote), and a long line made mostly of shorter kept
    lines word for word (the article repeated as one line from a metadata or AMP dump). Short lines
    (under ``_COPY_MIN_CHARS``) may repeat: "Yes.", a separator, a refrain.
    """
    if len(kept) < 2:
        return kept
    seen: set[str] = set()
    unique: list[int] = []
    for i in kept:
        line = lines[i]
        if len(line) >= _COPY_MIN_CHARS:
            if line in seen:
                continue
            seen.add(line)
        unique.append(i)
    if len(unique) < 3:
        return unique
    # A dump is far longer than the page's usual body line; only such lines are tried (few pages have one).
    lengths = sorted(len(lines[i]) for i in unique)
    floor = max(_DUMP_MIN_CHARS, _DUMP_LENGTH_FACTOR * lengths[len(lengths) // 2])
    if lengths[-1] < floor:
        return unique
    dumps: set[int] = set()
    for i in unique:
        line = lines[i]
        if len(line) < floor:
            continue
        size = len(line)
        covered = sum(len(lines[j]) for j in unique
                      if j != i and j not in dumps and len(lines[j]) < size and lines[j] in line)
        if covered >= _DUMP_COVERED * size:
            dumps.add(i)
    return [i for i in unique if i not in dumps] if dumps else unique


def extract_text_article(
    text: str,
    *,
    fetched_at: datetime | None = None,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> TextArticle:
    """Split a plain-text page into header fields, body paragraphs and dropped boilerplate."""
    return extract_text_articles([TextPage(text, fetched_at, is_known_boilerplate)])[0]


def extract_text_articles(pages: Sequence[TextPage]) -> list[TextArticle]:
    """``extract_text_article`` of every page; the pages are analysed and scored in batches."""
    articles: list[TextArticle] = []
    for analysed in _analyse_batches(pages):
        probabilities = score_batch(analysed.features, analysed.bounds, LAYER1_WEIGHTS, LAYER2_WEIGHTS)
        bounds = analysed.bounds
        # The lines above the threshold, found for the whole batch at once (numpy's per-call cost is paid once,
        # not once per page), then cut at the page bounds and counted from each page's first line.
        above = np.flatnonzero(probabilities >= BODY_THRESHOLD)
        cuts = np.searchsorted(above, bounds).tolist()
        above_list = above.tolist()
        articles.extend(
            _article(page, [i - bounds[k] for i in above_list[cuts[k]:cuts[k + 1]]], source.is_known_boilerplate)
            for k, (page, source) in enumerate(zip(analysed.pages, analysed.sources, strict=True))
        )
    return articles


def _article(page: PageLines, above: list[int],
             is_known_boilerplate: Callable[[str], bool] | None) -> TextArticle:
    """The article of an analysed page, given its lines whose body probability reaches the threshold."""
    lines = page.lines
    article = TextArticle(lines_in=len(lines), truncated=len(lines) >= MAX_LINES)
    if not lines:
        return article
    header = page.header
    article.authors = header.authors
    article.published_at = header.published_at
    if header.title is not None:
        article.title = lines[header.title]
    if header.standfirst is not None:
        article.standfirst = lines[header.standfirst]
    article.body = [
        lines[i] for i in _body_lines(page, above)
        if is_known_boilerplate is None or not is_known_boilerplate(lines[i])
    ]
    article.lines_removed = len(lines) - len(article.body)
    return article
