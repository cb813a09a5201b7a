"""The per-line feature code the cleaning stage used before it was vectorised, kept as the reference
that ``linemodel.line_features`` / ``pagetext.page_text`` must reproduce exactly (see
test_line_features_reference.py). Not used by the stage itself."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workers.cleaning.boilerplate import (
    BOILERPLATE_PHRASE_LOWER_RE,
    BOILERPLATE_SHORT_RE,
    LINK_LABEL_RE,
    PHRASE_TRIGGER_WORDS,
    PROMO_TRIGGER_WORDS,
    SELF_PROMO_LOWER_RE,
)
from workers.cleaning.dates import _CANDIDATE_LOWER_RE

FloatArray = npt.NDArray[np.float64]
_N_BASE = 50
_DIGIT_ONLY_RE = re.compile(r"\d")
_LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff\ufffd]")
_WE_LOWER_RE = re.compile(r"\b(?:we|our|us)\b")
_QUOTED_RE = re.compile(r"[“\"][^”\"]*[”\"]")
_MAX_LINES = 5000


def looks_like_date_line(line: str) -> bool:
    """The date pre-check as one regex (before it was split in two)."""
    if len(line) > 160:
        return False
    lowered = line.lower()
    if _DIGIT_ONLY_RE.search(line) is None and "ago" not in lowered:
        return False
    return _CANDIDATE_LOWER_RE.search(lowered) is not None


def reference_split_lines(text: str) -> list[str]:
    """Non-empty, stripped lines (the regex split the stage used before)."""
    text = _CONTROL_RE.sub("", text)
    lines: list[str] = []
    for line in _LINE_SPLIT_RE.split(text):
        stripped = line.strip()
        if stripped:
            lines.append(stripped)
            if len(lines) > _MAX_LINES:
                break
    return lines


_WORD_RE = re.compile(r"\w+")
_TERMINAL = frozenset(".!?\"”’'):;…»」。！？")
_SENTENCE_END = frozenset(".!?。！？")
_QUOTES_OPEN = frozenset("\"“‘'«„「-–—•")
_YOU_RE = re.compile(r"\b(?:you|your)\b", re.IGNORECASE)
_WE_RE = re.compile(r"\b(?:we|our|us)\b", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"\s[|•·»›/]\s|\s[|•·»›]|^[|•·»›]|\|")
_URL_RE = re.compile(r"https?://|www\.|\.com\b|\.co\.uk\b|@\w", re.IGNORECASE)
_DIGIT_RE = re.compile(r"\d")
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
_WE_WORDS = frozenset({"we", "our", "us"})
_CAPTION_TRIGGERS = frozenset(
    "image images photo photos picture pictures pic credit video source file getty afp reuters ap shutterstock "
    "istock epa".split()
)
_STOPWORDS = frozenset(
    # English plus the commonest function words of a few other languages seen in news scrapes.
    """the a an of to in and or for on with at by from is are was were be been has have had it its this that
    these those as but not he she they his her their who which said says will would can could also than
    more about after into over new one two i you we our there when what up out if no so all just
    de la le les et des du en un une est pour que qui dans sur pas au
    der die das und ist von zu den mit sich des auf nicht ein eine für im dem
    el los las y del por con una para es se lo como
    o os as do da em um uma com não
    il di che e per non sono
    и в не на что с по это как а но он она
    """.split()
)

def _is_prose(line: str, words: int) -> bool:
    return words >= 15 or (words >= 5 and line[-1] in _TERMINAL)


@dataclass(frozen=True, slots=True)
class LineSignals:
    """Per-line tokens and boilerplate signals, computed once per page and shared by the feature
    builder and the appeal-block rule (the phrase regex is the costliest per-line operation)."""

    words: list[list[str]]
    lower_lines: list[str]
    lower_tokens: list[list[str]]
    lower_words: list[frozenset[str]]
    phrase: list[bool]
    promo: list[int]


def reference_line_signals(lines: Sequence[str]) -> LineSignals:
    """Tokens, lowercase token sets, boilerplate-phrase flags and self-promotion counts per line."""
    words_list = [_WORD_RE.findall(line) for line in lines]
    lower_lines = [line.lower() for line in lines]
    lower_tokens = [_WORD_RE.findall(line) for line in lower_lines]
    lower_sets = [frozenset(tokens) for tokens in lower_tokens]
    phrase = [
        ("©" in line or not lw.isdisjoint(PHRASE_TRIGGER_WORDS))
        and BOILERPLATE_PHRASE_LOWER_RE.search(line) is not None
        for line, lw in zip(lower_lines, lower_sets, strict=True)
    ]
    promo = [
        len(SELF_PROMO_LOWER_RE.findall(line)) if not lw.isdisjoint(PROMO_TRIGGER_WORDS) else 0
        for line, lw in zip(lower_lines, lower_sets, strict=True)
    ]
    return LineSignals(words_list, lower_lines, lower_tokens, lower_sets, phrase, promo)


def reference_line_features(
    lines: Sequence[str],
    *,
    header_end: int,
    date_index: int | None,
    byline_index: int | None,
    title_index: int | None = None,
    cjk: bool,
    is_known_boilerplate: Callable[[str], bool] | None = None,
    signals: LineSignals | None = None,
) -> FloatArray:
    """Per-line feature matrix (lines x FEATURE_NAMES) for one page."""
    n = len(lines)
    if n == 0:
        return np.zeros((0, _N_BASE))
    if signals is None:
        signals = reference_line_signals(lines)
    words_list = signals.words
    eff_words = [
        max(len(w), len(line) // 3) if cjk else len(w) for w, line in zip(words_list, lines, strict=True)
    ]
    prose = [_is_prose(line, ew) for line, ew in zip(lines, eff_words, strict=True)]
    longest = max((ew for p, ew in zip(prose, eff_words, strict=True) if p), default=0)
    long_enough = min(20, max(10, longest // 2))
    long_prose = [p and ew >= long_enough for p, ew in zip(prose, eff_words, strict=True)]
    first_main = next((i for i in range(header_end + 1, n) if long_prose[i]), None)
    if first_main is None:
        first_main = next((i for i in range(n) if long_prose[i]), n)
    last_main = next((i for i in range(n - 1, -1, -1) if long_prose[i]), -1)
    counts = Counter(lines)
    prose_prefix = [0]
    for p in prose:
        prose_prefix.append(prose_prefix[-1] + p)

    # Distance (in lines) to the nearest prose line on either side.
    gap = [n] * n
    last_seen = -n
    for i in range(n):
        if prose[i]:
            last_seen = i
        gap[i] = i - last_seen
    last_seen = 2 * n
    for i in range(n - 1, -1, -1):
        if prose[i]:
            last_seen = i
        gap[i] = min(gap[i], last_seen - i)

    # Runs of consecutive non-prose lines (navigation, link lists, tables, short list items).
    run_len = [0] * n
    run_flanked = [False] * n
    i = 0
    while i < n:
        if prose[i]:
            i += 1
            continue
        j = i
        while j < n and not prose[j]:
            j += 1
        flanked = i > 0 and j < n
        for k in range(i, j):
            run_len[k] = j - i
            run_flanked[k] = flanked
        i = j
    comment_head = [len(line) <= 90 and _COMMENT_HEAD_LOWER_RE.search(line) is not None
                    for line in signals.lower_lines]
    first_comment = next((i for i in range(first_main, n) if comment_head[i]), n) if first_main < n else n
    end_marker = next(
        (i for i in range(first_main + 1, n) if eff_words[i] <= 6 and _END_MARKER_RE.match(lines[i])), n
    ) if first_main < n else n
    title_line = lines[title_index] if title_index is not None and 0 <= title_index < n else None

    promo = [0.0] * n
    rows: list[list[float]] = []
    log1p = math.log1p
    log_ew = [log1p(ew) for ew in eff_words]
    for i, line in enumerate(lines):
        words = words_list[i]
        wc = len(words)
        ew = eff_words[i]
        chars = len(line)
        last = line[-1]
        first = line[0]
        caps = sum(1 for w in words if w[0].isupper()) if wc else 0
        lower_words = signals.lower_words[i]
        stops = sum(map(_STOPWORDS.__contains__, signals.lower_tokens[i]))
        phrase = signals.phrase[i]
        promo_count = signals.promo[i] if wc >= 4 else 0
        has_digit = _DIGIT_RE.search(line) is not None
        promo[i] = min(promo_count, 3) / 3.0
        lo3, hi3 = max(0, i - 3), min(n, i + 4)
        lo8, hi8 = max(0, i - 8), min(n, i + 9)
        rows.append([
            1.0,
            log_ew[i],
            log1p(chars),
            float(last in _TERMINAL),
            float(last in _SENTENCE_END),
            float(ew >= 15),
            float(ew <= 3),
            float(first.isupper()),
            float(first in _QUOTES_OPEN),
            caps / wc if wc else 0.0,
            len(_DIGIT_RE.findall(line)) / chars if has_digit else 0.0,
            float(phrase),
            float(wc <= 4 and BOILERPLATE_SHORT_RE.match(line) is not None),
            promo[i],
            float("you" in lower_words or "your" in lower_words),
            float(sum(map(_WE_WORDS.__contains__, signals.lower_tokens[i])) >= 2),
            float(_SEPARATOR_RE.search(line) is not None),
            float(_URL_RE.search(line) is not None),
            float(_CAPTION_LOWER_RE.search(signals.lower_lines[i]) is not None)
            if not lower_words.isdisjoint(_CAPTION_TRIGGERS) else 0.0,
            line.count(",") / (wc + 1),
            stops / wc if wc else 0.0,
            float(line.isupper() and chars > 3),
            float(last == ":"),
            i / n,
            float(i <= header_end),
            float(i > header_end >= 0),
            float(i == header_end + 1),
            float(date_index is not None and abs(i - date_index) <= 1),
            float(byline_index is not None and i == byline_index),
            float(counts[line] > 1),
            float(i < first_main),
            float(i > last_main),
            float(first_main <= i <= last_main),
            (prose_prefix[hi3] - prose_prefix[lo3]) / (hi3 - lo3),
            (prose_prefix[hi8] - prose_prefix[lo8]) / (hi8 - lo8),
            float(i > 0 and prose[i - 1]),
            float(i + 1 < n and prose[i + 1]),
            log_ew[i - 1] if i > 0 else 0.0,
            log_ew[i + 1] if i + 1 < n else 0.0,
            float(3 <= wc <= 14 and last not in _TERMINAL and caps / wc >= 0.6) if wc else 0.0,
            float(is_known_boilerplate is not None and is_known_boilerplate(line)),
            min(gap[i], 10) / 10.0,
            float(comment_head[i]),
            float(i > first_comment),
            float(ew <= 14 and (has_digit or "ago" in lower_words) and looks_like_date_line(line)),
            log1p(run_len[i]),
            float(run_flanked[i] and run_len[i] <= 12),
            float(title_line is not None and i != title_index and len(title_line) >= 20 and title_line in line),
            float(i > end_marker),
            0.0,
        ])
    matrix = np.asarray(rows, dtype=np.float64)
    if n:
        # Self-promotion in the neighbourhood (donation appeals come in blocks).
        padded = np.pad(np.asarray(promo), 2)
        matrix[:, -1] = np.maximum.reduce([padded[k:k + n] for k in range(5)])
    return matrix


def reference_appeal_block_indices(lines: Sequence[str], signals: LineSignals | None = None) -> set[int]:
    """Lines of reader appeals (donation, membership, registration pitches), whatever the model says.

    A line is an appeal when it is heavy with self-promotion words, or names an appeal phrase and
    talks to or about the reader/site; prose lines with some self-promotion that touch an appeal
    line are part of the same block.
    """
    n = len(lines)
    if signals is None:
        signals = reference_line_signals(lines)
    promo = signals.promo
    first_person = [0] * n
    strong: set[int] = set()
    for i, line in enumerate(lines):
        if not signals.lower_words[i].isdisjoint(_WE_WORDS):
            first_person[i] = len(_WE_LOWER_RE.findall(_QUOTED_RE.sub("", signals.lower_lines[i])))
        if promo[i] >= 3 or (signals.phrase[i] and (promo[i] >= 1 or len(line) < 120)):
            strong.add(i)
    # A short line sandwiched between two appeal lines ("Support X from just £1") belongs to the block.
    for i in range(1, n - 1):
        if i - 1 in strong and i + 1 in strong and len(lines[i]) < 80 and lines[i][-1] not in _TERMINAL:
            strong.add(i)
    weak = {i for i in range(n) if promo[i] >= 1 or first_person[i] >= 2}
    frontier = list(strong)
    while frontier:
        i = frontier.pop()
        for j in (i - 1, i + 1):
            if 0 <= j < n and j in weak and j not in strong:
                strong.add(j)
                frontier.append(j)
    strong.update(i for i, line in enumerate(lines) if len(line) < 200 and LINK_LABEL_RE.match(line))
    return strong


