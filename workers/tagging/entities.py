"""Named entities of news articles: one entity per real-world thing, with a label a news desk can trust.

:func:`tag_articles` runs the NER over every segment (title, standfirst, body paragraphs) of a batch of articles
in one ``nlp.pipe`` call inside ``nlp.memory_zone()``, keeps only plain ``(start, end, label)`` tuples, and hands
them to :func:`merge_mentions`, which is pure Python over strings and so can be tested without a model:

1. **Proper-noun phrases** headed by Initiative/Agreement/Treaty/Act/... become one ORG/LAW span
   ("Belt and Road Initiative" instead of PERSON "Belt").
2. **Span repair**: leading determiners and honorifics, possessives (straight or curly apostrophe) and trailing
   common nouns are cut off, so "the Indo-Pacific region" is the mention "Indo-Pacific" and "Japan’s" is
   "Japan"; timezone abbreviations (GMT, UTC, ET...) are dropped; a trailing or following geographic noun
   ("region", "basin"...) and Indo-/Asia-/Euro- compounds vote LOC.
3. **Coordinated lists** ("Japan’s Mitsubishi Heavy, Britain’s BAE Systems PLC and Italy’s Leonardo") agree on
   one label: the odd item out is relabelled and an item the model missed is added.
4. **Linking** within the article: common country/organisation aliases (US, U.S., United States), acronyms of a
   longer name in the same article (WHO / World Health Organization), corporate suffixes (BAE Systems /
   BAE Systems PLC) and surnames of one full PERSON name ("Kishida" -> "Fumio Kishida"; a surname shared by two
   full names stays separate).
5. **Label voting** over every mention of one entity (rule evidence weighs more than the model's guess).
6. **Salience** in 0..1 from title/standfirst presence, frequency and first position.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

logger = logging.getLogger(__name__)

Span = tuple[int, int, str]
"""A labelled character span ``(start, end, label)`` within one paragraph."""

SECTIONS = ("title", "standfirst", "body")

#: Labels of names (merged and label-voted across the article) as opposed to values (DATE, MONEY, ...).
NAME_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
#: Name labels whose spans never end in a lower-case common noun ("the Indo-Pacific region").
_TRIMMED_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT"})
#: Labels a coordinated list may move an item between.
_LIST_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT"})

MODEL_WEIGHT = 1.0
RULE_WEIGHT = 3.0
ALIAS_WEIGHT = 5.0

# --- word lists: general vocabulary, never names of one article ----------------------------------------------

TIMEZONES = frozenset(
    [
        "GMT",
        "UTC",
        "UT",
        "BST",
        "IST",
        "CET",
        "CEST",
        "EET",
        "EEST",
        "WET",
        "ET",
        "EST",
        "EDT",
        "CT",
        "CST",
        "CDT",
        "MT",
        "MST",
        "MDT",
        "PT",
        "PST",
        "PDT",
        "AKST",
        "AKDT",
        "HST",
        "JST",
        "KST",
        "HKT",
        "SGT",
        "AEST",
        "AEDT",
        "ACST",
        "ACDT",
        "AWST",
        "NZST",
        "NZDT",
        "MSK",
        "WIB",
        "PHT",
        "ICT",
    ]
)
_TZ_OFFSET_RE = re.compile(r"^(?:GMT|UTC)\s?[+\-−]\s?\d{1,2}(?::?\d{2})?$")

#: Head nouns of multi-word proper-noun phrases, with the label the phrase takes.
PHRASE_HEADS: Mapping[str, str] = {
    **dict.fromkeys(["Initiative", "Program", "Programme", "Partnership"], "ORG"),
    **dict.fromkeys(
        ["Agreement", "Treaty", "Act", "Accord", "Accords", "Pact", "Convention", "Protocol", "Charter"], "LAW"
    ),
}
#: Common nouns that, right after a name, make it a place ("the Indo-Pacific region", "the Donbas basin").
GEO_NOUNS = frozenset(
    [
        "region",
        "regions",
        "area",
        "areas",
        "basin",
        "peninsula",
        "coast",
        "coastline",
        "sea",
        "seas",
        "ocean",
        "valley",
        "strait",
        "straits",
        "gulf",
        "delta",
        "plateau",
        "desert",
        "highlands",
        "lowlands",
        "archipelago",
        "subcontinent",
    ]
)
_GEO_COMPOUND_RE = re.compile(
    r"^(?:Indo|Asia|Afro|Euro|Sino|Trans|Sub|Pan|Mid|Latin|Austro|Anglo|Greater)-"
    r"(?:Pacific|Atlantic|Arctic|Asia|Africa|Europe|America|Mediterranean|Caribbean|Baltic|Sahara|Eurasia|"
    r"Oceania|Antarctic|Himalayas?)$"
)

#: Common abbreviations of countries and international bodies -> (canonical name, label). Matched on the
#: upper-case form with dots removed ("U.S." -> "US"), so the pronoun "us" is never read as a country.
ACRONYM_ALIASES: Mapping[str, tuple[str, str]] = {
    "US": ("United States", "GPE"),
    "USA": ("United States", "GPE"),
    "UK": ("Britain", "GPE"),
    "GB": ("Britain", "GPE"),
    "EU": ("European Union", "ORG"),
    "UN": ("United Nations", "ORG"),
    "NATO": ("NATO", "ORG"),
    "UAE": ("United Arab Emirates", "GPE"),
    "PRC": ("China", "GPE"),
    "DPRK": ("North Korea", "GPE"),
    "ROK": ("South Korea", "GPE"),
    "USSR": ("Soviet Union", "GPE"),
    "DRC": ("Democratic Republic of the Congo", "GPE"),
}
#: Long forms -> (canonical name, label); matched case-insensitively.
NAME_ALIASES: Mapping[str, tuple[str, str]] = {
    "united states": ("United States", "GPE"),
    "united states of america": ("United States", "GPE"),
    "britain": ("Britain", "GPE"),
    "great britain": ("Britain", "GPE"),
    "united kingdom": ("Britain", "GPE"),
    "european union": ("European Union", "ORG"),
    "united nations": ("United Nations", "ORG"),
    "nato": ("NATO", "ORG"),
    "north atlantic treaty organization": ("NATO", "ORG"),
    "united arab emirates": ("United Arab Emirates", "GPE"),
    "people's republic of china": ("China", "GPE"),
    "soviet union": ("Soviet Union", "GPE"),
}
#: Legal-form suffixes ignored when deciding whether two organisation names are one ("BAE Systems PLC").
CORPORATE_SUFFIXES = frozenset(
    [
        "plc",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "llc",
        "llp",
        "ag",
        "sa",
        "nv",
        "bv",
        "gmbh",
        "spa",
        "se",
        "ab",
        "asa",
        "oyj",
        "kk",
    ]
)
_DETERMINERS = frozenset(
    ["the", "a", "an", "this", "that", "these", "those", "its", "their", "his", "her", "our", "my", "your"]
)
_HONORIFIC_RE = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Lord|Lady|Rev|Gen|Col|Sen|Rep|Gov)\.?\s+(?=[A-Z])")
#: Lower-case particles that belong to names ("Charles de Gaulle", "Vincent van Gogh").
_NAME_PARTICLES = frozenset(
    [
        "de",
        "da",
        "di",
        "del",
        "della",
        "der",
        "den",
        "van",
        "von",
        "du",
        "la",
        "le",
        "bin",
        "ibn",
        "al",
        "el",
        "ter",
        "ten",
        "dos",
        "das",
    ]
)
_POSSESSIVE_RE = re.compile(r"(?:['’]s|(?<=s)['’])$")
_SENTENCE_END = frozenset(".!?:;\"“”‘’'()[]—–-•\n")

# Capitalised word, chunk of them, and a list item "[Possessor’s] Head".
_CAP_WORD = r"[A-Z](?:[\w\-]|\.(?=\w))*"
_CHUNK = rf"{_CAP_WORD}(?:[ \t]+(?:&[ \t]+)?{_CAP_WORD})*"
_ITEM_RE = re.compile(rf"(?<![\w'’])(?:(?P<pos>{_CHUNK})['’]s[ \t]+)?(?P<head>{_CHUNK})")
_LIST_SEP_RE = re.compile(r"^[ \t]*(?:,[ \t]*(?:(?:and|or|&)[ \t]+)?|(?:and|or|&)[ \t]+)$")
_PHRASE_RE = re.compile(
    rf"(?<![\w'’])(?:[A-Z][\w\-]*[ \t]+(?:(?:and|of|for|on|&|de|del|la)[ \t]+)?)+"
    rf"(?:{'|'.join(PHRASE_HEADS)})\b(?!['’]?\w)"
)


# --- public types ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticleText:
    """The parts of an article entities are looked for in."""

    title: str | None
    standfirst: str | None
    body: list[str]

    def segments(self) -> Iterator[tuple[str, int, str]]:
        """Yield ``(section, paragraph index, text)`` for every non-empty segment, title first."""
        if self.title:
            yield "title", 0, self.title
        if self.standfirst:
            yield "standfirst", 0, self.standfirst
        for index, paragraph in enumerate(self.body):
            if paragraph:
                yield "body", index, paragraph


@dataclass(slots=True)
class Mention:
    """One mention of a name or value inside one paragraph (internal, mutable while rules run)."""

    section: str
    paragraph: int
    start: int
    end: int
    text: str
    label: str
    weight: float = MODEL_WEIGHT
    key: str = ""
    alias: tuple[str, str] | None = None

    @property
    def is_name(self) -> bool:
        """True for names (PERSON, ORG, ...), False for values (DATE, MONEY, ...)."""
        return self.label in NAME_LABELS


@dataclass(slots=True)
class _Group:
    mentions: list[Mention] = field(default_factory=list)


# --- text helpers ---------------------------------------------------------------------------------------------


def _straight(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'")


def name_key(text: str) -> str:
    """Key under which two surface forms are the same name: case-folded, dots dropped, spaces collapsed."""
    return " ".join(_straight(text).replace(".", "").casefold().split())


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in _SENTENCE_END


def _lookup_alias(form: str) -> tuple[str, str] | None:
    compact = form.replace(".", "").replace(" ", "")
    if compact.isupper() and compact in ACRONYM_ALIASES:
        return ACRONYM_ALIASES[compact]
    return NAME_ALIASES.get(name_key(form))


def split_for_model(text: str, limit: int) -> list[tuple[int, str]]:
    """Split ``text`` into ``(offset, piece)`` pieces of at most ``limit`` characters.

    Cuts at paragraph breaks first, then line breaks, sentence ends, any whitespace, and only as a last resort
    mid-word. Pieces concatenate back to ``text``.
    """
    if len(text) <= limit:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    pos = 0
    boundaries = (r"\n\s*\n", r"\n", r"(?<=[.!?…])[\"”’)\]]*\s+", r"\s+")
    while len(text) - pos > limit:
        window = text[pos : pos + limit]
        cut = 0
        for pattern in boundaries:
            ends = [m.end() for m in re.finditer(pattern, window)]
            if ends and ends[-1] > limit // 4:
                cut = ends[-1]
                break
        if cut <= 0:
            cut = limit
        pieces.append((pos, text[pos : pos + cut]))
        pos += cut
    pieces.append((pos, text[pos:]))
    return pieces


# --- per-paragraph rules --------------------------------------------------------------------------------------


def find_phrase_spans(text: str) -> list[Span]:
    """Multi-word proper-noun phrases headed by Initiative/Agreement/Treaty/Act/... as ORG/LAW spans.

    Leading stop words ("The", "Under") are not part of the phrase; at least one capitalised modifier must remain.
    """
    spans: list[Span] = []
    for match in _PHRASE_RE.finditer(text):
        start, phrase = match.start(), match.group()
        words = phrase.split()
        while words and words[0].casefold() in STOP_WORDS:
            start = text.index(words[1], start + len(words[0])) if len(words) > 1 else match.end()
            words = words[1:]
        if len(words) < 2 or not words[0][0].isupper():
            continue
        spans.append((start, match.end(), PHRASE_HEADS[words[-1]]))
    return spans


def apply_phrase_spans(text: str, spans: list[Span]) -> list[tuple[Span, float]]:
    """Merge head-noun phrases into the model's spans; returns ``(span, weight)`` pairs sorted by start.

    A phrase replaces model spans that it contains or partly overlaps; a model span containing the phrase wins.
    """
    out: list[tuple[Span, float]] = [(s, MODEL_WEIGHT) for s in spans]
    for p_start, p_end, p_label in find_phrase_spans(text):
        overlapping = [(s, w) for s, w in out if s[0] < p_end and p_start < s[1]]
        if any(s[0] <= p_start and p_end <= s[1] for s, _ in overlapping):
            continue
        out = [(s, w) for s, w in out if not (s[0] < p_end and p_start < s[1])]
        out.append(((p_start, p_end, p_label), RULE_WEIGHT))
    return sorted(out, key=lambda sw: sw[0][0])


def repair_span(text: str, span: Span, weight: float = MODEL_WEIGHT) -> tuple[Span, float] | None:
    """Cut a name span to the name itself and apply label cues; ``None`` drops it (e.g. a timezone).

    Strips leading determiners ("the", but capital "The" only at a sentence start) and honorifics, a
    possessive "’s"/"'s", and trailing lower-case common nouns. A following or trimmed geographic noun
    ("region") or an Indo-/Asia-/Euro- compound makes the span LOC (rule weight).
    """
    start, end, label = span
    if label not in NAME_LABELS:
        return (start, end, label), weight
    trimmed_nouns: list[str] = []
    changed = True
    while changed and start < end:
        changed = False
        piece = text[start:end]
        first = piece.split(maxsplit=1)
        if len(first) == 2:
            word = first[0]
            lead = word in _DETERMINERS or (word in {"The", "THE"} and _is_sentence_start(text, start))
            if not lead and label in _TRIMMED_LABELS and word.isalpha() and word.islower():
                lead = word not in _NAME_PARTICLES
            if lead:
                start += len(word)
                start += len(text[start:end]) - len(text[start:end].lstrip())
                changed = True
                continue
        honorific = _HONORIFIC_RE.match(piece)
        if honorific:
            start += honorific.end()
            changed = True
            continue
        possessive = _POSSESSIVE_RE.search(piece)
        if possessive and possessive.start() > 0:
            end = start + possessive.start()
            changed = True
            continue
        if label in _TRIMMED_LABELS:
            last = piece.rsplit(maxsplit=1)
            if len(last) == 2 and last[1].isalpha() and last[1].islower():
                trimmed_nouns.append(last[1])
                end = start + len(last[0])
                changed = True
                continue
        stripped = piece.rstrip(" \t\n,;:")
        if len(stripped) < len(piece):
            end = start + len(stripped)
            changed = True
    if start >= end:
        return None
    form = text[start:end]
    if form in TIMEZONES or _TZ_OFFSET_RE.match(form):
        return None
    following = re.match(r"[ \t]+([a-z]+)", text[end:])
    geo_cue = any(n in GEO_NOUNS for n in trimmed_nouns) or bool(following and following.group(1) in GEO_NOUNS)
    if label in _TRIMMED_LABELS and label != "PERSON" and (geo_cue or _GEO_COMPOUND_RE.match(form)):
        return (start, end, "LOC"), max(weight, RULE_WEIGHT)
    return (start, end, label), weight


def _head_mentions(
    text: str, start: int, end: int, mentions: Sequence[Mention]
) -> tuple[int, int, Mention | None] | None:
    """Align a list item's head chunk with the mentions: returns (start, end, mention or None) or None if
    the chunk cannot be one list item (a mention crosses its border, or it holds several mentions)."""
    inside: list[Mention] = []
    for m in mentions:
        if m.start < end and start < m.end:
            if m.start < start or m.end > end:
                return None
            inside.append(m)
    if len(inside) > 1:
        return None
    return start, end, (inside[0] if inside else None)


def agree_list_labels(text: str, mentions: list[Mention], section: str, paragraph: int) -> None:
    """Give the items of a coordinated list one label, in place.

    A list is three or more items joined by commas and a final "and"/"or", or two items both with a possessor
    ("Japan’s Mitsubishi Heavy and Italy’s Leonardo"). If most items (at least two, more than half) carry one
    name label, the others take it: mislabelled items are relabelled, items the model missed are added. The
    possessors of such a list agree the same way.
    """
    items: list[tuple[re.Match[str], tuple[int, int, Mention | None] | None]] = []
    for match in _ITEM_RE.finditer(text):
        h_start, h_end = match.span("head")
        words = match.group("head").split()
        intro = False
        while len(words) > 1 and words[0].casefold() in STOP_WORDS:
            intro = True
            h_start = text.index(words[1], h_start + len(words[0]))
            words = words[1:]
        if words and words[0].casefold() in STOP_WORDS:
            items.append((match, None))
            continue
        aligned = _head_mentions(text, h_start, h_end, mentions)
        items.append((match, None if intro and match.start("head") == match.start() else aligned))
    runs: list[list[tuple[re.Match[str], tuple[int, int, Mention | None]]]] = []
    current: list[tuple[re.Match[str], tuple[int, int, Mention | None]]] = []
    previous_end = -1
    for match, aligned in items:
        sep = text[previous_end : match.start()] if current else ""
        if aligned is None or (current and not _LIST_SEP_RE.match(sep)):
            if len(current) >= 2:
                runs.append(current)
            current = []
        if aligned is not None:
            current.append((match, aligned))
        previous_end = match.end()
    if len(current) >= 2:
        runs.append(current)
    for run in runs:
        _agree_run(text, run, mentions, section, paragraph)


def _agree_run(
    text: str,
    run: list[tuple[re.Match[str], tuple[int, int, Mention | None]]],
    mentions: list[Mention],
    section: str,
    paragraph: int,
) -> None:
    separators = [text[a[0].end() : b[0].start()] for a, b in itertools.pairwise(run)]
    if not re.search(r"\b(?:and|or)\b|&", separators[-1]) or any(
        re.search(r"\b(?:and|or)\b|&", s) for s in separators[:-1]
    ):
        return
    with_possessor = all(m.group("pos") for m, _ in run)
    if len(run) < 3 and not with_possessor:
        return
    _agree_slots(text, [aligned for _, aligned in run], mentions, section, paragraph)
    if with_possessor:
        slots = [_head_mentions(text, m.start("pos"), m.end("pos"), mentions) for m, _ in run]
        if all(s is not None for s in slots):
            _agree_slots(text, [s for s in slots if s is not None], mentions, section, paragraph)


def _agree_slots(
    text: str,
    slots: list[tuple[int, int, Mention | None]],
    mentions: list[Mention],
    section: str,
    paragraph: int,
) -> None:
    labels = Counter(m.label for _, _, m in slots if m is not None)
    if not labels:
        return
    (label, votes), *rest = labels.most_common()
    if label not in _LIST_LABELS or votes < 2 or votes * 2 <= len(slots) or (rest and rest[0][1] == votes):
        return
    for start, end, mention in slots:
        if mention is None:
            mentions.append(Mention(section, paragraph, start, end, text[start:end], label, RULE_WEIGHT))
        elif mention.label != label and mention.label in _LIST_LABELS:
            mention.label, mention.weight = label, RULE_WEIGHT
    mentions.sort(key=lambda m: m.start)


def paragraph_mentions(text: str, spans: Sequence[Span], section: str, paragraph: int) -> list[Mention]:
    """Turn the model's spans for one paragraph into repaired mentions (phrases, span repair, lists)."""
    mentions: list[Mention] = []
    for span, weight in apply_phrase_spans(text, list(spans)):
        repaired = repair_span(text, span, weight)
        if repaired is None:
            continue
        (start, end, label), w = repaired
        if mentions and start < mentions[-1].end:
            continue
        mentions.append(Mention(section, paragraph, start, end, text[start:end], label, w))
    agree_list_labels(text, mentions, section, paragraph)
    return mentions


# --- article-level linking, voting, salience ------------------------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        """Join b's set into a's (a's root stays the root)."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _vote(mentions: Sequence[Mention]) -> str:
    scores: dict[str, float] = defaultdict(float)
    for m in mentions:
        scores[m.label] += m.weight
    best = max(scores.values())
    # Tie: the label of the longest form, then of the earliest mention.
    for m in sorted(mentions, key=lambda m: -len(m.text.split())):
        if scores[m.label] == best:
            return m.label
    return max(scores, key=lambda k: scores[k])


def _org_key(key: str) -> str:
    words = key.split()
    while len(words) > 1 and words[-1].strip(",") in CORPORATE_SUFFIXES:
        words = words[:-1]
    return " ".join(words)


def _initials(form: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s\-]+", form) if w and w[0].isupper())


def link_names(mentions: Sequence[Mention]) -> list[list[Mention]]:
    """Group the name mentions of one article into entities (aliases, acronyms, suffixes, surnames)."""
    uf = _UnionFind()
    by_key: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        m.alias = _lookup_alias(m.text)
        m.key = name_key(m.alias[0]) if m.alias else name_key(m.text)
        if m.alias:
            m.label, m.weight = m.alias[1], ALIAS_WEIGHT
        by_key[m.key].append(m)
        uf.find(m.key)
    labels = {key: _vote(ms) for key, ms in by_key.items()}
    # Organisation names differing only by a legal-form suffix.
    org_roots: dict[str, str] = {}
    for key in sorted(by_key, key=len):
        if labels[key] == "ORG":
            base = _org_key(key)
            if base in org_roots:
                uf.union(key, org_roots[base]) if len(key) > len(org_roots[base]) else None
                uf.union(org_roots[base], key) if len(key) <= len(org_roots[base]) else None
            else:
                org_roots[base] = key
    # Acronyms of a longer name in the same article.
    long_by_initials: dict[str, set[str]] = defaultdict(set)
    for key, ms in by_key.items():
        form = max((m.text for m in ms), key=len)
        if len(form.split()) >= 2:
            long_by_initials[_initials(form)].add(key)
    for key, ms in by_key.items():
        compact = ms[0].text.replace(".", "")
        if 2 <= len(compact) <= 6 and compact.isupper() and len(ms[0].text.split()) == 1:
            targets = long_by_initials.get(compact, set()) - {key}
            if len(targets) == 1:
                uf.union(next(iter(targets)), key)
    # Surnames (else unique first names) of exactly one full PERSON name.
    full_people = [k for k, lab in labels.items() if lab == "PERSON" and len(k.split()) >= 2]
    by_last: dict[str, set[str]] = defaultdict(set)
    by_first: dict[str, set[str]] = defaultdict(set)
    for key in full_people:
        by_last[key.split()[-1]].add(key)
        by_first[key.split()[0]].add(key)
    for key, ms in by_key.items():
        if len(key.split()) != 1 or labels[key] == "NORP" or any(m.alias for m in ms):
            continue
        if any(m.weight >= RULE_WEIGHT and m.label != "PERSON" for m in ms):
            continue
        candidates = by_last.get(key) or by_first.get(key) or set()
        if candidates:
            for m in ms:
                m.label = "PERSON"
            if len(candidates) == 1:
                uf.union(next(iter(candidates)), key)
    groups: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        groups[uf.find(m.key)].append(m)
    return list(groups.values())


def _canonical_name(mentions: Sequence[Mention], label: str) -> str:
    for m in mentions:
        if m.alias:
            return m.alias[0]
    pool = [m for m in mentions if m.label == label] or list(mentions)
    counts = Counter(m.text for m in pool)
    first_seen = {text: i for i, text in reversed(list(enumerate(m.text for m in pool)))}
    return max(counts, key=lambda t: (len(t.split()), counts[t], len(t), -first_seen[t]))


def _salience(mentions: Sequence[Mention], max_count: int, n_body: int, is_name: bool) -> float:
    sections = {m.section for m in mentions}
    body = [m.paragraph for m in mentions if m.section == "body"]
    if "title" in sections or "standfirst" in sections:
        position = 1.0
    elif body and n_body:
        position = 1.0 - min(body) / n_body
    else:
        position = 0.0
    frequency = math.log1p(len(mentions)) / math.log1p(max_count) if max_count else 0.0
    score = 0.30 * ("title" in sections) + 0.15 * ("standfirst" in sections) + 0.30 * frequency + 0.25 * position
    return round(min(1.0, max(0.0, score * (1.0 if is_name else 0.5))), 4)


def merge_mentions(article: ArticleText, spans: Mapping[tuple[str, int], Sequence[Span]]) -> list[dict[str, Any]]:
    """Build the entity dicts of one article from the model's spans per ``(section, paragraph)``.

    Pure: no model needed. See the module docstring for the rules; the dict layout is the tagging contract.
    """
    mentions: list[Mention] = []
    for section, paragraph, text in article.segments():
        mentions.extend(paragraph_mentions(text, spans.get((section, paragraph), ()), section, paragraph))
    names = [m for m in mentions if m.is_name]
    groups = link_names(names)
    values: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for m in mentions:
        if not m.is_name:
            values[(m.label, m.text.casefold())].append(m)
    groups.extend(values.values())
    max_count = max((len(g) for g in groups), default=0)
    order = {s: i for i, s in enumerate(SECTIONS)}
    entities: list[dict[str, Any]] = []
    for group in groups:
        label = _vote(group) if group[0].is_name else group[0].label
        group.sort(key=lambda m: (order[m.section], m.paragraph, m.start))
        entities.append(
            {
                "name": _canonical_name(group, label),
                "label": label,
                "forms": sorted({m.text for m in group}),
                "count": len(group),
                "salience": _salience(group, max_count, len(article.body), label in NAME_LABELS),
                "mentions": [
                    {"section": m.section, "paragraph": m.paragraph, "start": m.start, "end": m.end, "text": m.text}
                    for m in group
                ],
            }
        )
    entities.sort(key=lambda e: (-e["salience"], e["name"]))
    return entities


def tag_articles(nlp: Language, articles: Sequence[ArticleText], *, batch_size: int = 64) -> list[list[dict[str, Any]]]:
    """One list of entity dicts per article, in order.

    All segments of all articles go through one ``nlp.pipe`` call inside ``nlp.memory_zone()`` (so a
    long-running worker's string store and vocab stay flat); segments longer than ``nlp.max_length`` are split
    on paragraph/sentence boundaries and their offsets mapped back. Entity dict::

        {"name", "label", "forms", "count", "salience",
         "mentions": [{"section", "paragraph", "start", "end", "text"}]}

    sorted by salience descending, then name.
    """
    keys: list[tuple[int, str, int, int]] = []
    texts: list[str] = []
    limit = max(1, nlp.max_length - 1)
    for index, article in enumerate(articles):
        for section, paragraph, text in article.segments():
            for offset, piece in split_for_model(text, limit):
                keys.append((index, section, paragraph, offset))
                texts.append(piece)
    found: list[dict[tuple[str, int], list[Span]]] = [defaultdict(list) for _ in articles]
    zone = nlp.memory_zone() if hasattr(nlp, "memory_zone") else contextlib.nullcontext()
    with zone:
        for (index, section, paragraph, offset), doc in zip(keys, nlp.pipe(texts, batch_size=batch_size), strict=True):
            found[index][(section, paragraph)].extend(
                (offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents
            )
    return [merge_mentions(article, spans) for article, spans in zip(articles, found, strict=True)]
