"""A page's lines seen whole: one joined string, numpy arrays over its characters and tokens.

The line classifier needs, for every line, counts over its words (words, capitalised words,
stopwords, "we"/"you" words), its digits and commas, and whether it holds one of a few hundred
trigger words. Doing that line by line in Python costs several microseconds per line; here the
page is encoded once as an array of code points and everything is counted with a handful of
numpy operations over the whole page:

* character classes come from one lookup table over all of Unicode, built from the very ``re``
  classes the per-line code used (``\\w``, ``\\d``) and ``str.isupper``, so the counts are the same;
* tokens (``\\w+`` runs) are the runs of word characters; a token is identified by an exact key
  (its first six characters, one byte each over a small alphabet, plus its length) and looked up in
  a sorted vocabulary table; tokens longer than six characters whose key hits are confirmed by
  comparing the real string, so membership is exact, never hashed;
* the boilerplate-phrase regex is only tried (anchored, with ``match``) at the token starts that
  can begin one of its alternatives, and where the alternatives starting with the token go on with
  a second word, only if the next token can be it; at each start only the alternatives that can
  begin with the token are tried. The first and second words are derived from the regex itself.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from re import _compiler as sre_compiler  # type: ignore[attr-defined]
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.cleaning.boilerplate import (
    BOILERPLATE_PHRASE_LOWER_RE,
    PHRASE_TRIGGER_WORDS,
    PROMO_TRIGGER_WORDS,
    SELF_PROMO_LOWER_RE,
)
from workers.cleaning.native import speedups as _speedups

__all__ = ["PageBatch", "PageText", "ascii_folds", "char_table", "code_points", "page_batch", "page_text"]

IntArray = npt.NDArray[np.int64]

# Character classes (bits of the code-point table).
(WORD_CHAR, DIGIT_CHAR, UPPER_CHAR, TERMINAL_CHAR, SENTENCE_END_CHAR, QUOTE_CHAR, LOWER_OR_TITLE_CHAR,
 SHAPE_TRIGGER_CHAR) = (1 << k for k in range(8))
# (LOWER_OR_TITLE_CHAR: a character that makes ``str.isupper`` false; SHAPE_TRIGGER_CHAR: one where the native
# helper looks for the separator and URL patterns.)
SHAPE_TRIGGER_CHARS = frozenset("|:.@/•·»›©")
TERMINAL_CHARS = frozenset(".!?\"”’'):;…»」。！？")
SENTENCE_END_CHARS = frozenset(".!?。！？")
QUOTE_OPEN_CHARS = frozenset("\"“‘'«„「-–—•")
_MAX_CODE_POINT = 0x110000

# Line-shape bits (``PageText.shape``, computed by the native helper only).
SHAPE_SEPARATOR, SHAPE_URL, SHAPE_UPPER, SHAPE_COLON, SHAPE_COPYRIGHT = 1, 2, 4, 8, 16
"""``linemodel._SEPARATOR_RE`` and ``linemodel._URL_RE`` find something in the line; ``line.isupper()``; the
line has a colon; it has a copyright sign."""

# Token vocabulary bits.
STOP, WE, YOU, AGO, CAPTION, PHRASE, PROMO, COMMENT, PHRASE_START, NAV, DATE_WORD, BYLINE, END_WORD, AGENCY = (
    1 << k for k in range(14))
PROMO_ALONE, PROMO_FIRST, PROMO_SECOND = 1 << 14, 1 << 15, 1 << 17  # (1 << 16 is CONFIRM)

STOPWORDS = frozenset(
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
WE_WORDS = frozenset({"we", "our", "us"})
CAPTION_TRIGGERS = frozenset(
    "image images photo photos picture pictures pic credit video source file getty afp reuters ap shutterstock "
    "istock epa".split()
)
# Photo agencies: a line with one of these as a token is a caption line (the caption regex names them alone).
AGENCY_WORDS = frozenset("getty afp reuters shutterstock istock epa".split())
# Every match of the comment-heading regex (linemodel) holds one of these as a whole token; lines
# without any are not searched.
COMMENT_GATE_WORDS = frozenset(
    """comment comments response responses replies reaction reactions discussion says wrote said leave join
    start post add write show view load name reply report""".split()
)

# Every match of BOILERPLATE_SHORT_RE (a navigation label alone on its line) is made of these words.
NAV_WORDS = frozenset(
    """home menu search news sport sports business opinion politics world video videos photo photos more share
    this article story tweet email print comment comments reply login log in out logout sign signin signup signout
    up register subscribe close next previous prev advertisement ad sponsored facebook twitter linkedin whatsapp
    reddit pinterest instagram youtube copy link save related tag tags topics see all show load read watch now
    listen loading""".split()
)
# Whole tokens one of which every match of the date pre-check (dates.looks_like_date_line) holds, unless
# the line has four digits in a row or a digit followed by a letter ("5feb").
DATE_WORDS = frozenset(
    """jan january feb february mar march apr april may jun june jul july aug august sep sept september oct october
    nov november dec december ago hace il vor há fa geleden sedan siden temu""".split()
)
# A "By ..." / "Author: ..." byline (byline.parse_byline) starts with one of these words.
BYLINE_WORDS = frozenset(
    """written story words reported escrito texto publicado by por par von di door av af przez author authors
    writer writers reporter reporters autor autora autores auteur auteurs autore autori redacción redakteur
    redakteurin""".split()
)
# Every match of the end-marker regex (linemodel: "Related", "More from ...", "Don't miss") starts with one
# of these as its line's first token.
END_WORDS = frozenset(
    """related more you recommended most popular read viewed shared trending tag tags topics share about see up
    latest don dont top other""".split()
)
# Trigger words of the self-promotion regex that only count followed by another word: "our reporting",
# "independent news", "quality news", "readers like you", "funded by ...", "muro de pago". A line whose only
# trigger words are these, without any of the words they go on with (or "news" of "news outlets"), has no match.
PROMO_PAIR_WORDS = frozenset({"our", "quality", "independent", "readers", "funded", "muro"})
PROMO_PARTNER_WORDS = frozenset({"reporting", "news", "like", "by", "pago"})


def promo_lines(text: PageText) -> npt.NDArray[np.bool_]:
    """The lines the self-promotion regex is run on: a trigger word that can match alone, or one that needs
    another word together with one of those (``PROMO_PAIR_WORDS``). Every other line with a trigger word
    has no match (the unit tests check this against the lines the regex finds something in)."""
    return text.has(PROMO_ALONE) | (text.has(PROMO_FIRST) & text.has(PROMO_SECOND))


# Characters that IGNORECASE matching folds onto ASCII letters although str.lower() does not map them there.
_SPECIAL_FOLDING = ("\u0130", "\u0131", "\u017f", "\u212a")

_KEY_CHARS = 6
_BITS_PER_CHAR = 8  # a key's characters are bytes: the first six are read at once from an unaligned view
_LENGTH_SHIFT = _KEY_CHARS * _BITS_PER_CHAR
_MAX_KEY_LENGTH = (1 << (64 - _LENGTH_SHIFT)) - 1
"""Token lengths are capped at this in keys (no vocabulary word comes near it)."""


@functools.cache
def char_table() -> npt.NDArray[np.uint8]:
    """Class bits for every code point, from ``re``'s own ``\\w``/``\\d`` and ``str.isupper``."""
    everything = "".join(map(chr, range(_MAX_CODE_POINT)))

    def members(complement: str) -> npt.NDArray[np.bool_]:
        kept = re.sub(complement, "\x00", everything)
        return np.frombuffer(kept.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) != 0

    table = np.zeros(_MAX_CODE_POINT, dtype=np.uint8)
    table[members(r"\W")] |= WORD_CHAR
    table[members(r"\D")] |= DIGIT_CHAR
    table[np.fromiter(map(str.isupper, everything), dtype=bool, count=_MAX_CODE_POINT)] |= UPPER_CHAR
    # "cA".isupper() is false exactly when c is lower or title case ("A" supplies the upper-case letter).
    table[~np.fromiter(map(str.isupper, map(operator.add, everything, itertools.repeat("A"))), dtype=bool,
                       count=_MAX_CODE_POINT)] |= LOWER_OR_TITLE_CHAR
    for chars, bit in ((TERMINAL_CHARS, TERMINAL_CHAR), (SENTENCE_END_CHARS, SENTENCE_END_CHAR),
                       (QUOTE_OPEN_CHARS, QUOTE_CHAR), (SHAPE_TRIGGER_CHARS, SHAPE_TRIGGER_CHAR)):
        for c in chars:
            table[ord(c)] |= bit
    return table


@functools.cache
def ascii_folds() -> npt.NDArray[np.uint32]:
    """(code point, letter) pairs, flattened, of the non-ASCII characters that ``re.IGNORECASE`` matches
    with an ASCII letter (the Kelvin sign with "k", the long s with "s", ...), found by ``re`` itself."""
    everything = "".join(map(chr, range(0x80, _MAX_CODE_POINT)))
    pairs: list[int] = []
    for found in sorted(set(re.findall("[a-z]", everything, re.IGNORECASE))):
        letters = [letter for letter in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(letter, found, re.IGNORECASE)]
        if len(letters) != 1:
            raise ValueError(f"U+{ord(found):04X} folds onto {letters}")
        pairs += [ord(found), ord(letters[0])]
    return np.array(pairs, dtype=np.uint32)


def code_points(text: str) -> npt.NDArray[np.uint32]:
    """The code points of ``text`` (lone surrogates included) as an array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


# --- where the boilerplate-phrase regex can start -------------------------------------------------

_TOKEN_END = chr(0)
"""Marks, inside a literal prefix, that the token ends there (whitespace or a word boundary follows)."""


def _is_space_class(item: Any) -> bool:
    op, av = item
    return op is sre_constants.IN and list(av) == [(sre_constants.CATEGORY, sre_constants.CATEGORY_SPACE)]


def _literal_prefixes(items: Sequence[Any], *, spaces: bool = False) -> set[str] | None:
    """Strings one of which every match of the parsed sequence ``items`` starts with (None: unknown).
    A ``_TOKEN_END`` in a string stands for "a non-word character or the end follows". With ``spaces``
    a run of whitespace (``\\s``, ``\\s+``) is a space in the strings and the words after it are
    followed too; without, it ends the string as ``_TOKEN_END``."""
    if not items:
        return {""}
    op, av = items[0]
    rest = list(items[1:])
    if op is sre_constants.AT:
        if av is sre_constants.AT_BOUNDARY:
            return {_TOKEN_END}
        return _literal_prefixes(rest, spaces=spaces)
    if op is sre_constants.LITERAL:
        tails = _literal_prefixes(rest, spaces=spaces)
        return {chr(av)} if tails is None else {chr(av) + t for t in tails}
    if _is_space_class(items[0]):
        return _spaced(rest) if spaces else {_TOKEN_END}
    if op is sre_constants.BRANCH:
        out: set[str] = set()
        for alternative in av[1]:
            found = _literal_prefixes(list(alternative) + rest, spaces=spaces)
            if found is None:
                return None
            out |= found
        return out
    if op is sre_constants.SUBPATTERN:
        return _literal_prefixes(list(av[3]) + rest, spaces=spaces)
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        low, high, body = av
        first: set[str] | None
        if len(body) == 1 and _is_space_class(body[0]):
            first = _spaced(rest) if spaces else {_TOKEN_END}
        else:
            # At most one repetition: what follows it is known too.
            first = _literal_prefixes(list(body) + rest if high == 1 else list(body), spaces=spaces)
        if low >= 1:
            return first
        following = _literal_prefixes(rest, spaces=spaces)
        if first is None or following is None:
            return None
        return first | following
    return None


def _spaced(rest: Sequence[Any]) -> set[str]:
    tails = _literal_prefixes(rest, spaces=True)
    return {" "} if tails is None else {" " + t for t in tails}


_WORD_PREFIX_RE = re.compile(r"\w*")


@dataclass(frozen=True, slots=True)
class _Alternative:
    """One top-level alternative of the phrase regex and the tokens at whose start it can match."""

    pattern: Any
    """The parsed alternative (as the regex parser gave it)."""
    whole: frozenset[str]
    """Tokens it can start with exactly (a non-word character follows them in every such match)."""
    beginnings: tuple[str, ...]
    """Word-character runs a token it starts with begins with."""
    digit: bool
    """It starts with ``\\d+`` (and can start at any token that begins with a digit)."""
    copyright: bool = False
    """It can start with "©" (no token starts there: it is tried at each "©" of a line)."""


@dataclass(frozen=True, slots=True)
class _PhraseAlternatives:
    state: Any
    """The regex parser's state (flags, groups) for compiling parts of the regex."""
    leading: list[Any]
    """What comes before the alternation (the word boundary)."""
    alternatives: list[_Alternative]


def _starts_with_digits(items: Sequence[Any]) -> bool:
    if not items or items[0][0] not in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        return False
    low, _, body = items[0][1]
    return bool(low >= 1 and list(body) == [(sre_constants.IN, [(sre_constants.CATEGORY,
                                                                   sre_constants.CATEGORY_DIGIT)])])


@functools.cache
def _phrase_alternatives() -> _PhraseAlternatives | None:
    """The alternatives of the phrase regex with the tokens each can start at; None when some alternative
    is not understood (gated lines are then searched whole)."""
    parsed = sre_parser.parse(BOILERPLATE_PHRASE_LOWER_RE.pattern, BOILERPLATE_PHRASE_LOWER_RE.flags)
    items = list(parsed.data)
    leading = []
    while items and items[0][0] is sre_constants.AT:
        leading.append(items.pop(0))
    if len(items) != 1 or items[0][0] is not sre_constants.BRANCH:
        return None
    alternatives: list[_Alternative] = []
    for alternative in items[0][1][1]:
        alt = list(alternative)
        while alt and alt[0][0] is sre_constants.AT:
            alt = alt[1:]
        if _starts_with_digits(alt):
            alternatives.append(_Alternative(alternative, frozenset(), (), True))
            continue
        prefixes = _literal_prefixes(alt)
        if prefixes is None:
            return None
        whole: set[str] = set()
        beginnings: set[str] = set()
        copyright = False
        for prefix in prefixes:
            m = _WORD_PREFIX_RE.match(prefix)
            word = m.group(0) if m else ""
            if not word:
                if prefix.startswith("©"):
                    copyright = True  # tried at each "©" of the lines that have one
                    continue
                return None
            if len(word) < len(prefix):
                whole.add(word)  # something that is no word character follows: the token is the word
            else:
                beginnings.add(word)
        alternatives.append(_Alternative(alternative, frozenset(whole), tuple(sorted(beginnings)), False, copyright))
    return _PhraseAlternatives(parsed.state, leading, alternatives)


@functools.cache
def _phrase_starts() -> tuple[frozenset[str], frozenset[str], bool, bool]:
    """Where the phrase regex can start: whole tokens, token beginnings (at most six characters),
    whether an alternative starts with a digit, and whether every alternative was understood (if
    not, gated lines are searched whole)."""
    found = _phrase_alternatives()
    if found is None:
        return frozenset(), frozenset(), False, False
    alternatives = found.alternatives
    return (frozenset(word for alt in alternatives for word in alt.whole),
            frozenset(word[:_KEY_CHARS] for alt in alternatives for word in alt.beginnings),
            any(alt.digit for alt in alternatives), True)


@functools.cache
def _second_words() -> dict[str, frozenset[str]]:
    """First words of the phrase regex (six characters at most) after which every alternative starting
    with them goes on with whitespace and a word: the beginnings (six characters at most) one of which
    the next token then starts with. Other first words are not in the result."""
    found = _phrase_alternatives()
    if found is None:
        return {}
    follows: dict[str, set[str] | None] = {}
    for alt in found.alternatives:
        items = list(alt.pattern)
        while items and items[0][0] is sre_constants.AT:
            items = items[1:]
        prefixes = _literal_prefixes(items, spaces=True) or set()
        seen: set[str] = set()
        for prefix in prefixes:
            m = _WORD_PREFIX_RE.match(prefix)
            word = m.group(0) if m else ""
            if word not in alt.whole:
                continue  # a token beginning, "©" or digits: not restricted
            seen.add(word)
            tail = prefix[len(word):]
            m = _WORD_PREFIX_RE.match(tail, 1) if tail.startswith(" ") else None
            second = m.group(0) if m else ""
            known = follows.setdefault(word, set())
            if not second:
                follows[word] = None
            elif known is not None:
                known.add(second[:_KEY_CHARS])
        for word in alt.whole - seen:
            follows[word] = None
    return {word: frozenset(seconds) for word, seconds in follows.items() if seconds and len(word) <= _KEY_CHARS}


@functools.lru_cache(maxsize=4096)
def _phrase_matcher(token: str) -> re.Pattern[str] | None:
    """The phrase regex cut down to the alternatives that can match at the start of ``token`` (None: no
    alternative can). Matched at a token's start it finds a phrase exactly when the whole regex does, but
    the engine does not try the other hundred-odd alternatives one by one."""
    found = _phrase_alternatives()
    if found is None:
        return BOILERPLATE_PHRASE_LOWER_RE
    digit = token[:1].isdecimal()  # what \d matches
    chosen = tuple(k for k, alt in enumerate(found.alternatives)
                   if token in alt.whole or token.startswith(alt.beginnings) or (alt.digit and digit))
    return _phrase_part(chosen) if chosen else None


@functools.cache
def _copyright_matcher() -> re.Pattern[str] | None:
    """The phrase regex cut down to the alternatives that can start with "©" (None: none can; the regex
    is then found on a line only at the start of one of its tokens)."""
    found = _phrase_alternatives()
    if found is None:
        return BOILERPLATE_PHRASE_LOWER_RE
    chosen = tuple(k for k, alt in enumerate(found.alternatives) if alt.copyright)
    return _phrase_part(chosen) if chosen else None


@functools.cache
def _phrase_part(chosen: tuple[int, ...]) -> re.Pattern[str]:
    """The phrase regex with only the alternatives numbered ``chosen`` (one compiled pattern per choice)."""
    found = _phrase_alternatives()
    if found is None:
        return BOILERPLATE_PHRASE_LOWER_RE
    alternatives = [found.alternatives[k].pattern for k in chosen]
    data = found.leading + (
        [(sre_constants.BRANCH, (None, alternatives))] if len(alternatives) > 1 else list(alternatives[0]))
    compiled: re.Pattern[str] = sre_compiler.compile(sre_parser.SubPattern(found.state, data),
                                                     BOILERPLATE_PHRASE_LOWER_RE.flags)
    return compiled


# --- token keys ---------------------------------------------------------------------------------

class _KeyTable:
    """Exact lookup of token keys: a collision-free multiplicative hash into a power-of-two table."""

    def __init__(self, entries: dict[int, int]) -> None:
        # About n*n/2 slots: a random multiplier is then collision-free with probability ~40%.
        size_bits = max(8, (len(entries) ** 2 // 2).bit_length())
        for attempt in range(1, 10_000):
            multiplier = (0x9E3779B97F4A7C15 * attempt) % (1 << 64) | 1
            shift = 64 - size_bits
            slots = {((key * multiplier) % (1 << 64)) >> shift for key in entries}
            if len(slots) == len(entries):
                break
        else:
            raise ValueError("no collision-free hash for the token vocabulary")
        self.entries = dict(entries)
        self.multiplier = np.uint64(multiplier)
        self.shift = np.uint64(shift)
        self.keys = np.full(1 << size_bits, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
        self.values = np.zeros(1 << size_bits, dtype=np.int64)
        for key, value in entries.items():
            slot = ((key * multiplier) % (1 << 64)) >> shift
            self.keys[slot] = key
            self.values[slot] = value

    def lookup(self, keys: npt.NDArray[np.uint64]) -> IntArray:
        """The value of each key, 0 for keys not in the table."""
        with np.errstate(over="ignore"):
            slots = (keys * self.multiplier) >> self.shift
        values = self.values.take(slots)
        values[self.keys.take(slots) != keys] = 0
        return values


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    alphabet: npt.NDArray[np.uint8]
    tokens: _KeyTable
    """Key (first six characters + length) -> bits; for words longer than six characters the bits
    only say "maybe" (``CONFIRM``) and the real string is looked up in ``exact``."""
    exact: dict[str, int]
    beginnings: dict[int, _KeyTable]
    """Per prefix length: keys of the token beginnings where the phrase regex can start."""
    firsts: _KeyTable
    """Key (with length) of each first word in ``_second_words`` -> its number (from 1)."""
    seconds: dict[int, _KeyTable]
    """Per prefix length: number of the first word (in the length's place) | key of a second word's beginning."""


CONFIRM = 1 << 16


@functools.cache
def _vocabulary() -> _Vocabulary:
    bits: dict[str, int] = {}
    whole, beginnings, _, _ = _phrase_starts()
    for words, bit in ((STOPWORDS, STOP), (WE_WORDS, WE), ({"you", "your"}, YOU), ({"ago"}, AGO),
                       (CAPTION_TRIGGERS, CAPTION), (PHRASE_TRIGGER_WORDS, PHRASE), (PROMO_TRIGGER_WORDS, PROMO),
                       (PROMO_TRIGGER_WORDS - PROMO_PAIR_WORDS, PROMO_ALONE), (PROMO_PAIR_WORDS, PROMO_FIRST),
                       (PROMO_PARTNER_WORDS, PROMO_SECOND),
                       (COMMENT_GATE_WORDS, COMMENT), (whole, PHRASE_START), (NAV_WORDS, NAV),
                       (DATE_WORDS, DATE_WORD), (BYLINE_WORDS, BYLINE), (END_WORDS, END_WORD),
                       (AGENCY_WORDS, AGENCY)):
        for word in words:
            bits[word] = bits.get(word, 0) | bit
    letters = sorted(set("".join(bits)) | set("".join(beginnings)))
    if len(letters) >= 1 << _BITS_PER_CHAR:
        raise ValueError("token alphabet too large for the key encoding")
    alphabet = np.zeros(_MAX_CODE_POINT, dtype=np.uint8)
    for k, letter in enumerate(letters, start=1):
        alphabet[ord(letter)] = k
    by_key: dict[int, int] = {}
    for word, word_bits in bits.items():
        key = _word_key(word, alphabet)
        by_key[key] = by_key.get(key, 0) | word_bits | (CONFIRM if len(word) > _KEY_CHARS else 0)
    by_size: dict[int, dict[int, int]] = {}
    for word in beginnings:
        by_size.setdefault(len(word), {})[_word_key(word, alphabet, with_length=False)] = 1
    firsts: dict[int, int] = {}
    seconds: dict[int, dict[int, int]] = {}
    for number, (word, followers) in enumerate(sorted(_second_words().items()), start=1):
        firsts[_word_key(word, alphabet)] = number
        for second in followers:
            key = _word_key(second, alphabet, with_length=False) | (number << _LENGTH_SHIFT)
            seconds.setdefault(len(second), {})[key] = 1
    return _Vocabulary(alphabet, _KeyTable(by_key), bits,
                       {size: _KeyTable(keys) for size, keys in sorted(by_size.items())},
                       _KeyTable(firsts), {size: _KeyTable(keys) for size, keys in sorted(seconds.items())})


NativeKeyTable = tuple[int, int, npt.NDArray[np.uint64], npt.NDArray[np.int64]]


@functools.cache
def _native_key_tables() -> tuple[NativeKeyTable, tuple[tuple[int, NativeKeyTable], ...],
                                  tuple[tuple[int, NativeKeyTable], ...]]:
    """The vocabulary's first-word, second-word and beginning tables as the native helper takes them."""
    vocabulary = _vocabulary()

    def spec(table: _KeyTable) -> NativeKeyTable:
        return int(table.multiplier), int(table.shift), table.keys, table.values

    return (spec(vocabulary.firsts), tuple((size, spec(table)) for size, table in vocabulary.seconds.items()),
            tuple((size, spec(table)) for size, table in vocabulary.beginnings.items()))


def _word_key(word: str, alphabet: npt.NDArray[np.uint8], *, with_length: bool = True) -> int:
    key = 0
    for k, letter in enumerate(word[:_KEY_CHARS]):
        key |= int(alphabet[ord(letter)]) << (_BITS_PER_CHAR * k)
    return key | (len(word) << _LENGTH_SHIFT) if with_length else key


_PREFIX_MASKS = np.array([(1 << (_BITS_PER_CHAR * k)) - 1 for k in range(_KEY_CHARS + 1)], dtype=np.uint64)


@dataclass(slots=True)
class _Tokens:
    start: IntArray
    end: IntArray
    line: IntArray


def _tokens(classes: npt.NDArray[np.uint8], line_of_char: IntArray) -> _Tokens:
    """``\\w+`` runs of a page from its character classes, with the line each starts on."""
    padded = np.zeros(classes.shape[0] + 2, dtype=np.int8)
    padded[1:-1] = classes & WORD_CHAR
    edges = padded[1:] - padded[:-1]
    start = np.flatnonzero(edges == 1)
    end = np.flatnonzero(edges == -1)
    return _Tokens(start, end, line_of_char.take(start))


def _token_keys(letters: npt.NDArray[np.uint8], tokens: _Tokens) -> tuple[npt.NDArray[np.uint64], IntArray]:
    """Exact keys of the first six characters (without length) and the token lengths."""
    lengths = tokens.end - tokens.start
    padded = np.zeros(letters.shape[0] + 8, dtype=np.uint8)
    padded[:letters.shape[0]] = letters
    # The eight bytes from every position as one little-endian integer (character k in bits 8k..8k+7).
    windows: npt.NDArray[np.uint64] = np.ndarray(shape=letters.shape, dtype="<u8", buffer=padded, strides=(1,))
    key = windows.take(tokens.start).astype(np.uint64)
    key &= _PREFIX_MASKS.take(np.minimum(lengths, _KEY_CHARS))
    return key, lengths


def _count_by_line(lines_of: IntArray, n: int) -> IntArray:
    return np.bincount(lines_of, minlength=n)


@dataclass(slots=True)
class PageText:
    """Per-line counts and flags of a page, computed over the whole page at once."""

    lines: Sequence[str]
    lower_lines: list[str]
    lengths: IntArray
    words: IntArray
    """``\\w+`` tokens per line (original case)."""
    capitalised: IntArray
    """Tokens whose first character is upper case."""
    digits: IntArray
    commas: IntArray
    first_cp: npt.NDArray[np.uint32]
    last_cp: npt.NDArray[np.uint32]
    stopwords: IntArray
    """Lower-case tokens that are stopwords."""
    we_words: IntArray
    lower_words: IntArray
    """``\\w+`` tokens per lower-cased line."""
    nav_words: IntArray
    """Lower-case tokens that are navigation-label words."""
    special_case_folding: bool
    """The page has a character that case-insensitive regexes fold differently from ``str.lower``."""
    date_hint: npt.NDArray[np.bool_]
    """Lines the date pre-check can accept: a date word, four digits in a row or a digit then a letter."""
    short_date_hint: npt.NDArray[np.bool_]
    """Lines the pre-check's forms without a four-digit year can accept: a date word or a digit then a letter."""
    year_hint: npt.NDArray[np.bool_]
    """Lines the pre-check's forms with a four-digit year can accept: four digits in a row."""
    byline_starts: set[int] | None
    """Lines that start with a byline word ("By", "Por", "Author", ...); None when that cannot be told
    from lower-cased tokens (``special_case_folding``)."""
    token_bits: IntArray
    """OR of the vocabulary bits of the line's lower-case tokens."""
    first_token_bits: IntArray
    """Vocabulary bits of the line's first lower-case token (0 for a line without tokens)."""
    phrase: list[bool]
    promo: list[int]
    joined: str
    """The lines joined by newlines; the page's lines are those of ``joined`` from line ``first_line`` on."""
    offsets: IntArray
    """Where each line of ``joined`` starts in it (``offsets[first_line + i]`` for the page's line ``i``)."""
    lower_joined: str
    """``joined`` lower-cased line by line (``lower_lines`` joined by newlines)."""
    lower_offsets: IntArray
    """Where each line of ``lower_joined`` starts in it."""
    line_starts: dict[bool, list[int]] = field(default_factory=dict)
    """The page's ``offsets`` (key False) and ``lower_offsets`` (True) as lists, made when first needed."""
    shape: npt.NDArray[np.uint8] | None = None
    """``SHAPE_*`` bits per line when the native helper computed them (else the callers run the regexes)."""
    first_line: int = 0
    """A page of a batch shares the batch's joined texts and offsets (it is their lines ``first_line`` to
    ``first_line + len(lines)``) instead of copies: few pages ever search them (``lines_with``)."""

    def has(self, bit: int) -> npt.NDArray[np.bool_]:
        """Lines holding a token with vocabulary bit ``bit``."""
        return (self.token_bits & bit) != 0

    def lines_with(self, needle: str, *, lower: bool = False) -> list[int]:
        """Indices (ascending, unique) of the lines containing ``needle`` (no newline in it)."""
        if not self.lines:
            return []
        text = self.lower_joined if lower else self.joined
        starts = self.line_starts.get(lower)
        if starts is None:
            offsets = self.lower_offsets if lower else self.offsets
            starts = self.line_starts[lower] = offsets[self.first_line:self.first_line + len(self.lines)].tolist()
        # The page's part of the (possibly shared) text: a match inside it is a match in the page's lines.
        end = starts[-1] + len((self.lower_lines if lower else self.lines)[-1])
        at = text.find(needle, starts[0], end)
        found: list[int] = []
        while at >= 0:
            line = bisect.bisect_right(starts, at, found[-1] if found else 0) - 1
            found.append(line)
            if line + 1 == len(starts):
                break
            at = text.find(needle, starts[line + 1], end)  # the next line: one hit per line is enough
        return found


def _offsets(lengths: IntArray) -> IntArray:
    out = np.zeros(lengths.shape[0], dtype=np.int64)
    if lengths.shape[0] > 1:
        np.cumsum(lengths[:-1] + 1, out=out[1:])
    return out


def _second_word_fits(chosen: IntArray, key: npt.NDArray[np.uint64], lengths: IntArray,
                      line_of_token: IntArray) -> npt.NDArray[np.bool_]:
    """For each chosen token: can the token after it (on its line) be the second word of a phrase that
    starts with it? True where the token's word does not restrict the next (see ``_second_words``)."""
    vocabulary = _vocabulary()
    capped = np.minimum(lengths.take(chosen), _MAX_KEY_LENGTH).astype(np.uint64)
    number = vocabulary.firsts.lookup(key.take(chosen) | (capped << np.uint64(_LENGTH_SHIFT)))
    restricted = np.flatnonzero(number)
    fits = np.ones(chosen.shape[0], dtype=bool)
    if not restricted.shape[0]:
        return fits
    at = chosen.take(restricted)
    following = np.minimum(at + 1, key.shape[0] - 1)
    next_key, next_length = key.take(following), lengths.take(following)
    tag = number.take(restricted).astype(np.uint64) << np.uint64(_LENGTH_SHIFT)
    found = np.zeros(restricted.shape[0], dtype=bool)
    for size, table in vocabulary.seconds.items():
        found |= (table.lookup(tag | (next_key & _PREFIX_MASKS[size])) != 0) & (next_length >= size)
    fits[restricted] = found & (at + 1 < key.shape[0]) & (line_of_token.take(following) == line_of_token.take(at))
    return fits


def _phrase_flags(text: PageText, gate: npt.NDArray[np.bool_], copyright_lines: list[int],
                  counted: _Counts) -> list[bool]:
    """The boilerplate-phrase regex on gated lines (``copyright_lines``, those with a "©", among them),
    tried only where one of its alternatives can start."""
    n = len(text.lines)
    phrase = [False] * n
    if not gate.any():
        return phrase
    search = BOILERPLATE_PHRASE_LOWER_RE.search
    _, _, digit_start, understood = _phrase_starts()
    lower = text.lower_lines
    if not understood:
        for i in np.flatnonzero(gate).tolist():
            phrase[i] = search(lower[i]) is not None
        return phrase
    token_line, token_start = counted.token_line, counted.token_start
    if _speedups is not None:
        firsts, seconds, beginnings = _native_key_tables()
        possible = np.frombuffer(_speedups.phrase_starts(
            np.ascontiguousarray(gate, dtype=np.bool_).view(np.uint8), np.ascontiguousarray(token_line),
            np.ascontiguousarray(counted.token_key), np.ascontiguousarray(counted.token_length),
            np.ascontiguousarray(counted.token_bits_each), np.ascontiguousarray(counted.token_first_class),
            firsts, seconds, beginnings, PHRASE_START, digit_start, DIGIT_CHAR), dtype=np.int64)
        sizes = counted.token_length.take(possible)
    else:
        chosen = np.flatnonzero(gate.take(token_line))
        maybe = (((counted.token_bits_each.take(chosen) & PHRASE_START) != 0)
                 & _second_word_fits(chosen, counted.token_key, counted.token_length, token_line))
        key, lengths = counted.token_key.take(chosen), counted.token_length.take(chosen)
        for size, table in _vocabulary().beginnings.items():
            maybe |= (table.lookup(key & _PREFIX_MASKS[size]) != 0) & (lengths >= size)
        if digit_start:
            maybe |= (counted.token_first_class.take(chosen) & DIGIT_CHAR) != 0
        sizes = lengths[maybe]
        possible = chosen[maybe]
    owners = token_line.take(possible)
    starts = token_start.take(possible) - text.lower_offsets.take(owners)
    copyright_matcher = _copyright_matcher()
    if copyright_matcher is not None:
        # An alternative can start with "©", where no token starts: try it at each "©" of the lines that
        # have one (their tokens are tried below like those of the other gated lines).
        for i in copyright_lines:
            line = lower[i]
            at = line.find("©")
            while at >= 0 and not phrase[i]:
                phrase[i] = copyright_matcher.match(line, at) is not None
                at = line.find("©", at + 1)
    # The flag depends on the line's text only, and the pages of a batch share many lines (navigation,
    # footers): each distinct line is tried once. The candidates come line by line, in order.
    decided: dict[str, bool] = {}
    previous, line, trying = -1, "", False  # trying: the current line is not decided yet
    for i, at, end in zip(owners.tolist(), starts.tolist(), (starts + sizes).tolist(), strict=True):
        if i != previous:
            if trying:
                decided[line] = False  # none of its candidates matched
            previous, line = i, lower[i]
            if phrase[i]:  # found at a "©"
                trying = False
                continue
            known = decided.get(line)
            trying = known is None
            if known is not None:
                phrase[i] = known
                continue
        elif not trying:
            continue
        matcher = _phrase_matcher(line[at:end])
        if matcher is not None and matcher.match(line, at) is not None:
            phrase[i] = decided[line] = True
            trying = False
    return phrase


def _str_lengths(items: Sequence[str]) -> IntArray:
    """``len`` of every string, as an array."""
    if _speedups is not None and isinstance(items, list):
        return np.frombuffer(_speedups.str_lengths(items), dtype=np.int64)
    return np.fromiter(map(len, items), dtype=np.int64, count=len(items))


def _whole_text(lines: Sequence[str]) -> PageText:
    """``page_text`` of ``lines`` taken as one page, except that ``byline_starts`` is always filled (callers
    clear it for pages with ``special_case_folding``). The counting pass runs in the native helper when it
    is built (and the lines are non-empty), else in numpy; both give the same values."""
    n = len(lines)
    lengths = _str_lengths(lines)
    joined = "\n".join(lines)
    # (the native helper gives exactly str.lower, quicker on mostly-ASCII text of any kind)
    lower_joined = joined.lower() if _speedups is None else _speedups.lower_text(joined)
    lower_lines = lower_joined.split("\n")
    if len(lower_lines) != n:
        # A line holds a newline itself (or there are no lines): lower-case line by line.
        lower_lines = [line.lower() for line in lines]
        lower_joined = "\n".join(lower_lines)
    # (Otherwise lower-casing the joined lines is lower-casing each line: the only context-dependent
    # mapping, the final sigma, looks no further than the nearest character that is neither cased nor
    # case-ignorable, and a newline is such a character, like the string's own ends.)
    lower_lengths = _str_lengths(lower_lines)
    if _speedups is not None and n and int(lengths.min()) > 0 and int(lower_lengths.min()) > 0:
        counted = _native_counts(joined, lower_joined, lengths, lower_lengths)
    else:
        counted = _numpy_counts(joined, lower_joined, lengths, lower_lengths)
    text = PageText(
        lines=lines, lower_lines=lower_lines, lengths=lengths, words=counted.words,
        capitalised=counted.capitalised, digits=counted.digits, commas=counted.commas, first_cp=counted.first_cp,
        last_cp=counted.last_cp, stopwords=counted.stopwords, we_words=counted.we_words,
        lower_words=counted.lower_words, nav_words=counted.nav_words,
        special_case_folding=counted.special_case_folding, date_hint=counted.year_hint,
        short_date_hint=counted.short_date_hint, year_hint=counted.year_hint, byline_starts=counted.byline_starts,
        token_bits=counted.token_bits, first_token_bits=counted.first_token_bits, phrase=[], promo=[],
        joined=joined, offsets=_offsets(lengths), lower_joined=lower_joined, lower_offsets=_offsets(lower_lengths),
        shape=counted.shape,
    )
    text.short_date_hint |= text.has(DATE_WORD)
    text.date_hint = text.year_hint | text.short_date_hint
    phrase_gate = text.has(PHRASE)
    shape = counted.shape
    copyright_lines = (text.lines_with("©", lower=True) if shape is None
                       else np.flatnonzero(shape & SHAPE_COPYRIGHT).tolist())
    phrase_gate[copyright_lines] = True
    text.phrase = _phrase_flags(text, phrase_gate, copyright_lines, counted)
    promo = [0] * n
    findall = SELF_PROMO_LOWER_RE.findall
    for i in np.flatnonzero(promo_lines(text)).tolist():
        promo[i] = len(findall(lower_lines[i]))
    text.promo = promo
    return text


@dataclass(frozen=True, slots=True)
class _Counts:
    """The counting pass over a page's characters and lower-case tokens (see ``PageText``)."""

    words: IntArray
    capitalised: IntArray
    digits: IntArray
    commas: IntArray
    first_cp: npt.NDArray[np.uint32]
    last_cp: npt.NDArray[np.uint32]
    lower_words: IntArray
    stopwords: IntArray
    we_words: IntArray
    nav_words: IntArray
    token_bits: IntArray
    first_token_bits: IntArray
    year_hint: npt.NDArray[np.bool_]
    """Lines with four digits in a row, where a year can be (``PageText.year_hint``; ``PageText.date_hint`` adds the
    short hints and the date words)."""
    short_date_hint: npt.NDArray[np.bool_]
    """Lines with a digit followed by a letter (the date words are added later)."""
    byline_starts: set[int]
    special_case_folding: bool
    token_start: IntArray
    """Lower-case tokens (the native helper keeps only those of the lines with a ``PHRASE`` token or a "©",
    the only ones ``_phrase_flags`` looks at): where each starts in the lower-cased joined text,"""
    token_line: IntArray
    """its line,"""
    token_key: npt.NDArray[np.uint64]
    """its key (first six characters, without length),"""
    token_length: IntArray
    """its length,"""
    token_bits_each: IntArray
    """its vocabulary bits"""
    token_first_class: npt.NDArray[np.uint8]
    """and the class bits of its first character."""
    shape: npt.NDArray[np.uint8] | None = None
    """``SHAPE_*`` bits per line (native helper only)."""


_EMPTY_KEY = (1 << 64) - 1


@functools.cache
def _probed_tokens() -> tuple[int, int, npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The token vocabulary (``_vocabulary().tokens``) as a small open-addressing table for the native
    helper: multiplier, shift, keys (``_EMPTY_KEY`` marks a free slot) and values. The collision-free
    table spreads a thousand words over a quarter of a million slots, and its cache misses cost more
    than the whole rest of the scan; this one fits in the CPU's cache and is probed linearly."""
    entries = _vocabulary().tokens.entries
    size_bits = max(4, (4 * len(entries)).bit_length())
    shift = 64 - size_bits
    multiplier = 0x9E3779B97F4A7C15
    mask = (1 << size_bits) - 1
    keys = np.full(1 << size_bits, np.uint64(_EMPTY_KEY), dtype=np.uint64)
    values = np.zeros(1 << size_bits, dtype=np.int64)
    for key, value in entries.items():
        if key == _EMPTY_KEY:
            raise ValueError("a token key collides with the empty-slot marker")
        slot = ((key * multiplier) % (1 << 64)) >> shift
        while int(keys[slot]) != _EMPTY_KEY:
            slot = (slot + 1) & mask
        keys[slot] = key
        values[slot] = value
    return multiplier, shift, keys, values


def _native_counts(joined: str, lower_joined: str, lengths: IntArray, lower_lengths: IntArray) -> _Counts:
    """``_numpy_counts`` computed by the native helper in one pass over each text (non-empty lines only)."""
    assert _speedups is not None  # noqa: S101 - the caller checks
    vocabulary = _vocabulary()
    multiplier, shift, keys, values = _probed_tokens()
    found = _speedups.scan_page(
        joined, lower_joined, lengths, lower_lengths, char_table(), vocabulary.alphabet, multiplier, shift, keys,
        values, vocabulary.exact, CONFIRM, STOP, WE, NAV, BYLINE, PHRASE, ascii_folds())
    (words, capitalised, digits, commas, lower_words, stopwords, we_words, nav_words, token_bits, first_token_bits,
     first_cp, last_cp, year_hint, short_date_hint, byline, folding, start, line, key, length, bits,
     first_class, shape) = found
    i64 = np.int64
    return _Counts(
        words=np.frombuffer(words, dtype=i64), capitalised=np.frombuffer(capitalised, dtype=i64),
        digits=np.frombuffer(digits, dtype=i64), commas=np.frombuffer(commas, dtype=i64),
        first_cp=np.frombuffer(first_cp, dtype=np.uint32), last_cp=np.frombuffer(last_cp, dtype=np.uint32),
        lower_words=np.frombuffer(lower_words, dtype=i64), stopwords=np.frombuffer(stopwords, dtype=i64),
        we_words=np.frombuffer(we_words, dtype=i64), nav_words=np.frombuffer(nav_words, dtype=i64),
        token_bits=np.frombuffer(token_bits, dtype=i64), first_token_bits=np.frombuffer(first_token_bits, dtype=i64),
        year_hint=np.frombuffer(year_hint, dtype=np.bool_),
        short_date_hint=np.frombuffer(short_date_hint, dtype=np.bool_),
        byline_starts=set(np.flatnonzero(np.frombuffer(byline, dtype=np.bool_)).tolist()),
        special_case_folding=bool(folding), token_start=np.frombuffer(start, dtype=i64),
        token_line=np.frombuffer(line, dtype=i64), token_key=np.frombuffer(key, dtype=np.uint64),
        token_length=np.frombuffer(length, dtype=i64), token_bits_each=np.frombuffer(bits, dtype=i64),
        token_first_class=np.frombuffer(first_class, dtype=np.uint8), shape=np.frombuffer(shape, dtype=np.uint8),
    )


def _numpy_counts(joined: str, lower_joined: str, lengths: IntArray, lower_lengths: IntArray) -> _Counts:
    """The counting pass with whole-array numpy operations (any lines, empty ones included)."""
    n = lengths.shape[0]
    table = char_table()
    vocabulary = _vocabulary()
    offsets = _offsets(lengths)
    lower_offsets = _offsets(lower_lengths)
    line_index = np.arange(n)

    cp = code_points(joined)
    classes = table.take(cp)
    line_of_char = np.repeat(line_index, lengths + 1)[:cp.shape[0]]  # the last line has no newline
    tok = _tokens(classes, line_of_char)
    words = _count_by_line(tok.line, n)
    upper_start = (classes.take(tok.start) & UPPER_CHAR) != 0
    capitalised = _count_by_line(tok.line[upper_start], n)
    digits = _count_by_line(line_of_char[(classes & DIGIT_CHAR) != 0], n)
    commas = _count_by_line(line_of_char[cp == 44], n)
    first_cp = cp.take(offsets)
    last_cp = cp.take(offsets + lengths - 1)

    lcp = code_points(lower_joined)
    lclasses = table.take(lcp)
    if lcp.shape[0] == cp.shape[0] and np.array_equal(lclasses & WORD_CHAR, classes & WORD_CHAR):
        # Lower-casing kept every character's place and word class (the usual case): same tokens.
        lower_line_of_char, ltok = line_of_char, tok
    else:
        lower_line_of_char = np.repeat(line_index, lower_lengths + 1)[:lcp.shape[0]]
        ltok = _tokens(lclasses, lower_line_of_char)
    key6, tok_lengths = _token_keys(vocabulary.alphabet.take(lcp), ltok)
    capped = np.minimum(tok_lengths, _MAX_KEY_LENGTH).astype(np.uint64)
    bits = vocabulary.tokens.lookup(key6 | (capped << np.uint64(_LENGTH_SHIFT)))
    unsure = np.flatnonzero(bits & CONFIRM)
    if unsure.shape[0]:
        exact = vocabulary.exact
        for t, s, e in zip(unsure.tolist(), ltok.start[unsure].tolist(), ltok.end[unsure].tolist(), strict=True):
            bits[t] = exact.get(lower_joined[s:e], 0)
    stopwords = _count_by_line(ltok.line[(bits & STOP) != 0], n)
    we_words = _count_by_line(ltok.line[(bits & WE) != 0], n)
    nav_words = _count_by_line(ltok.line[(bits & NAV) != 0], n)
    token_bits = np.zeros(n, dtype=np.int64)
    present = np.flatnonzero(bits)
    np.bitwise_or.at(token_bits, ltok.line.take(present), bits.take(present))

    # Date hints from the lower-cased characters: four digits in a row (the forms with a year), or a digit
    # followed by a letter (one of the forms without).
    ldigit = (lclasses & DIGIT_CHAR) != 0
    lletter = (lclasses & (WORD_CHAR | DIGIT_CHAR)) == WORD_CHAR
    owner = lower_line_of_char[:-1]
    short_date_hint = np.zeros(n, dtype=bool)
    short_date_hint[owner[ldigit[:-1] & lletter[1:]]] = True
    four_digits = np.zeros(owner.shape[0], dtype=bool)
    four_digits[:-2] = ldigit[:-3] & ldigit[1:-2] & ldigit[2:-1] & ldigit[3:]
    year_hint = np.zeros(n, dtype=bool)
    year_hint[owner[four_digits]] = True
    special_case_folding = any(c in joined for c in _SPECIAL_FOLDING)
    first = np.ones(ltok.line.shape[0], dtype=bool)
    first[1:] = ltok.line[1:] != ltok.line[:-1]
    first_token_bits = np.zeros(n, dtype=np.int64)
    first_token_bits[ltok.line[first]] = bits[first]
    first &= ((bits & BYLINE) != 0) & (ltok.start == lower_offsets.take(ltok.line))
    return _Counts(
        words=words, capitalised=capitalised, digits=digits, commas=commas, first_cp=first_cp, last_cp=last_cp,
        lower_words=_count_by_line(ltok.line, n), stopwords=stopwords, we_words=we_words, nav_words=nav_words,
        token_bits=token_bits, first_token_bits=first_token_bits, year_hint=year_hint,
        short_date_hint=short_date_hint, byline_starts=set(ltok.line[first].tolist()),
        special_case_folding=special_case_folding, token_start=ltok.start, token_line=ltok.line, token_key=key6,
        token_length=tok_lengths, token_bits_each=bits, token_first_class=lclasses.take(ltok.start),
    )


def page_text(lines: Sequence[str]) -> PageText:
    """Counts and vocabulary flags for every line of a page (lines non-empty)."""
    return page_batch([lines]).pages[0]


@dataclass(frozen=True, slots=True)
class PageBatch:
    """Several pages analysed at once: every line counted in one pass, then one ``PageText`` per page.

    Nothing in a line's counts and flags depends on the other lines, so the lines of all pages are
    joined and counted together (numpy's fixed costs are paid once per batch, not once per page); the
    page-level fields (``special_case_folding``, ``byline_starts``, the joined texts) are per page.
    """

    whole: PageText
    """Every line of the batch as one page; only its per-line fields are meaningful."""
    bounds: list[int]
    """Page ``k`` is lines ``bounds[k]:bounds[k + 1]`` of ``whole``."""
    pages: list[PageText]


def page_batch(pages: Sequence[Sequence[str]]) -> PageBatch:
    """``page_text`` of every page (lines non-empty), computed over all their lines at once."""
    whole = _whole_text(pages[0] if len(pages) == 1 else [line for page in pages for line in page])
    bounds = [0]
    for page in pages:
        bounds.append(bounds[-1] + len(page))
    if len(pages) == 1:
        if whole.special_case_folding:
            whole = _page_view(whole, 0, bounds[1], None)
        return PageBatch(whole, bounds, [whole])
    starts = np.array(sorted(whole.byline_starts or ()), dtype=np.int64)
    cuts = np.searchsorted(starts, bounds).tolist()
    views = [_page_view(whole, lo, hi, starts[cuts[k]:cuts[k + 1]] - lo)
             for k, (lo, hi) in enumerate(pairwise(bounds))]
    return PageBatch(whole, bounds, views)


def _page_view(whole: PageText, lo: int, hi: int, byline_starts: IntArray | None) -> PageText:
    """The ``PageText`` of lines ``lo:hi`` of ``whole`` (one page of a batch); ``byline_starts`` are the
    page's byline lines (page indices), ignored when the page has ``special_case_folding``."""
    if lo == hi:
        return _whole_text([])
    view = PageText(
        lines=whole.lines[lo:hi], lower_lines=whole.lower_lines[lo:hi], lengths=whole.lengths[lo:hi],
        words=whole.words[lo:hi], capitalised=whole.capitalised[lo:hi], digits=whole.digits[lo:hi],
        commas=whole.commas[lo:hi], first_cp=whole.first_cp[lo:hi], last_cp=whole.last_cp[lo:hi],
        stopwords=whole.stopwords[lo:hi], we_words=whole.we_words[lo:hi], lower_words=whole.lower_words[lo:hi],
        nav_words=whole.nav_words[lo:hi], special_case_folding=False, date_hint=whole.date_hint[lo:hi],
        short_date_hint=whole.short_date_hint[lo:hi], year_hint=whole.year_hint[lo:hi],
        byline_starts=None if byline_starts is None else set(byline_starts.tolist()),
        token_bits=whole.token_bits[lo:hi], first_token_bits=whole.first_token_bits[lo:hi],
        phrase=whole.phrase[lo:hi], promo=whole.promo[lo:hi],
        joined=whole.joined, offsets=whole.offsets, lower_joined=whole.lower_joined,
        lower_offsets=whole.lower_offsets, shape=None if whole.shape is None else whole.shape[lo:hi],
        first_line=whole.first_line + lo,
    )
    # (a page of a batch without any such character has none either)
    if whole.special_case_folding and any(view.lines_with(c) for c in _SPECIAL_FOLDING):
        view.special_case_folding = True
        view.byline_starts = None
    return view
