"""Named entities of news articles: one entity per real-world thing, with a label a news desk can trust.

:func:`tag_articles` runs the NER over every segment (title, standfirst, body paragraphs) of a batch of articles
in one ``nlp.pipe`` call inside ``nlp.memory_zone()``, keeps only plain ``(start, end, label)`` tuples, and hands
them to :func:`merge_mentions`, which is pure Python over strings and so is tested without a model:

1. **Proper-noun phrases** headed by Initiative/Agreement/Treaty/Act/... become one ORG/LAW span
   ("Belt and Road Initiative" instead of PERSON "Belt").
2. **Span repair**: leading determiners and honorifics, possessives (straight or curly apostrophe) and trailing
   common nouns are cut off ("the Indo-Pacific region" -> "Indo-Pacific", "Japan’s" -> "Japan"); timezone
   abbreviations (GMT, UTC, ET...) are dropped. Cues vote for a label: a geographic noun after the name or an
   Indo-/Asia-/Euro- compound -> LOC; "<name> council" -> GPE; an organisation head word ("... Robotics",
   "... University") -> ORG.
3. **Coordinated lists** ("Japan’s Mitsubishi Heavy, Britain’s BAE Systems PLC and Italy’s Leonardo") agree on
   one label: the odd item out is relabelled and an item the model missed is added.
4. **Linking** within the article: common country/organisation aliases (US, U.S., United States), acronyms of a
   longer name in the same article (WHO / World Health Organization), corporate suffixes (BAE Systems /
   BAE Systems PLC), the first word of a company name (Nordvik / Nordvik Semiconductor Inc.) and the surname of
   one full PERSON name ("Kishida" -> "Fumio Kishida"); a surname shared by two full names stays separate.
5. **Label voting** over every mention of one entity (rule evidence weighs more than the model's guess), then
   **propagation**: later bare occurrences of a known name or surname the model missed become mentions too.
6. **Salience** in 0..1 from title/standfirst presence, frequency and first position.

Title Case headlines ("Rome Seeks A Greater Role") fool the model, so there only names also found in the
standfirst or body, or single capitalised words the model tagged, are kept.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from workers.tagging.lexicon import (
    ACRONYM_ALIASES,
    CALENDAR_WORDS,
    COMPANY_HEADS,
    CORPORATE_SUFFIXES,
    DETERMINERS,
    GEO_NOUNS,
    GOVERNMENT_NOUNS,
    HEADLINE_SMALL_WORDS,
    NAME_ALIASES,
    NAME_PARTICLES,
    ORG_HEADS,
    PHRASE_HEADS,
    PUBLIC_BODY_SUFFIXES,
    TIMEZONES,
)

logger = logging.getLogger(__name__)

Span = tuple[int, int, str]
"""A labelled character span ``(start, end, label)`` within one paragraph."""

SECTIONS = ("title", "standfirst", "body")

#: Labels of names (merged and label-voted across the article) as opposed to values (DATE, MONEY, ...).
NAME_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
#: Name labels whose spans never end in a lower-case common noun and that cues may move between.
PLAIN_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT"})
_PLACE = frozenset({"GPE", "LOC"})

MODEL_WEIGHT = 1.0
PROPAGATED_WEIGHT = 0.5
RULE_WEIGHT = 3.0
ALIAS_WEIGHT = 5.0

_TZ_OFFSET_RE = re.compile(r"^(?:GMT|UTC)\s?[+\-−]\s?\d{1,2}(?::?\d{2})?$")
_GEO_COMPOUND_RE = re.compile(
    r"^(?:Indo|Asia|Afro|Euro|Sino|Trans|Sub|Pan|Mid|Latin|Austro|Anglo|Greater)-"
    r"(?:Pacific|Atlantic|Arctic|Asia|Africa|Europe|America|Mediterranean|Caribbean|Baltic|Sahara|Eurasia|"
    r"Oceania|Antarctic|Himalayas?)$"
)
_HONORIFIC_RE = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Lord|Lady|Rev|Gen|Col|Sen|Rep|Gov)\.?\s+(?=[A-Z])")
_POSSESSIVE_RE = re.compile(r"(?:['’]s|(?<=s)['’])$")
_SENTENCE_END = frozenset(".!?:;\"“”‘’'()[]—–-•\n")
_PUBLIC_BODY_RE = re.compile(rf"^(?P<place>.+?) (?:{'|'.join(map(re.escape, PUBLIC_BODY_SUFFIXES))})$")

# Capitalised word, chunk of them, and a list item "[Possessor’s] Head".
_CAP_WORD = r"[A-Z](?:[\w\-]|\.(?=\w))*"
_CHUNK = rf"{_CAP_WORD}(?:[ \t]+(?:&[ \t]+)?{_CAP_WORD})*"
_ITEM_RE = re.compile(rf"(?<![\w'’])(?:(?P<pos>{_CHUNK})['’]s[ \t]+)?(?P<head>{_CHUNK})")
_LIST_SEP_RE = re.compile(r"[ \t]*(?:,[ \t]*(?:(?:and|or|&)[ \t]+)?|(?:and|or|&)[ \t]+)(?:the[ \t]+)?$")
_CONJUNCTION_RE = re.compile(r"\b(?:and|or)\b|&")
_PHRASE_RE = re.compile(
    rf"(?<![\w'’])(?:[A-Z][\w\-]*[ \t]+(?:(?:and|of|for|on|&|de|del|la)[ \t]+)?)+"
    rf"(?:{'|'.join(PHRASE_HEADS)})\b(?!['’]?\w)"
)
_FOLLOWING_WORD_RE = re.compile(r"[ \t]+([a-z]+)")
_CAPITAL_BEFORE_RE = re.compile(r"[A-Z][\w\-.]*[ \t]+$")
_CAPITAL_AFTER_RE = re.compile(r"[ \t]+[A-Z]")


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
    """One mention of a name or value inside one paragraph (internal; rules adjust label and weight)."""

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

    def as_dict(self) -> dict[str, Any]:
        """The mention as in the tagging contract."""
        return {
            "section": self.section,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


# --- text helpers ---------------------------------------------------------------------------------------------


def name_key(text: str) -> str:
    """Key under which two surface forms are the same name: case-folded, dots dropped, spaces collapsed."""
    return " ".join(text.replace("’", "'").replace(".", "").casefold().split())


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in _SENTENCE_END


def _is_acronym(form: str) -> bool:
    compact = form.replace(".", "")
    return 2 <= len(compact) <= 6 and compact.isalpha() and compact.isupper() and " " not in form


def lookup_alias(form: str) -> tuple[str, str] | None:
    """``(canonical name, label)`` for a common country/organisation abbreviation or long form, else None."""
    compact = form.replace(".", "").replace(" ", "")
    if compact.isupper() and compact in ACRONYM_ALIASES:
        return ACRONYM_ALIASES[compact]
    return NAME_ALIASES.get(name_key(form))


def is_title_case(text: str) -> bool:
    """True for a Title Case headline ("Rome Seeks A Greater Role"), False for sentence case."""
    words = re.findall(r"[A-Za-z][A-Za-z'’\-]*", text)[1:]
    content = [w for w in words if w.casefold() not in HEADLINE_SMALL_WORDS]
    return len(content) >= 3 and sum(w[0].isupper() for w in content) >= 0.8 * len(content)


def split_for_model(text: str, limit: int) -> list[tuple[int, str]]:
    """Split ``text`` into ``(offset, piece)`` pieces of at most ``limit`` characters.

    Cuts at paragraph breaks first, then line breaks, sentence ends, any whitespace, and only as a last resort
    mid-word. The pieces concatenate back to ``text``.
    """
    if len(text) <= limit:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    pos = 0
    boundaries = (r"\n\s*\n", r"\n", r"(?<=[.!?…])[\"”’)\]]*\s+", r"\s+")
    while len(text) - pos > limit:
        window = text[pos : pos + limit]
        cut = limit
        for pattern in boundaries:
            ends = [m.end() for m in re.finditer(pattern, window)]
            if ends and ends[-1] > limit // 4:
                cut = ends[-1]
                break
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
        start = match.start()
        words = match.group().split()
        while len(words) > 1 and words[0].casefold() in STOP_WORDS:
            start = text.index(words[1], start + len(words[0]))
            words = words[1:]
        if len(words) >= 2 and words[0][0].isupper():
            spans.append((start, match.end(), PHRASE_HEADS[words[-1]]))
    return spans


def apply_phrase_spans(text: str, spans: Iterable[Span]) -> list[tuple[Span, float]]:
    """Merge head-noun phrases into the model's spans; returns ``(span, weight)`` pairs sorted by start.

    A phrase replaces model spans it contains or partly overlaps; a model span containing the phrase wins, and a
    model span equal to it keeps the model's label when that is ORG, LAW or EVENT.
    """
    out: list[tuple[Span, float]] = [(s, MODEL_WEIGHT) for s in spans]
    for p_start, p_end, p_label in find_phrase_spans(text):
        overlapping = [s for s, _ in out if s[0] < p_end and p_start < s[1]]
        if any(s[0] <= p_start and p_end <= s[1] and (s[:2] != (p_start, p_end) or s[2] in {"ORG", "LAW", "EVENT"})
               for s in overlapping):
            continue
        out = [(s, w) for s, w in out if not (s[0] < p_end and p_start < s[1])]
        out.append(((p_start, p_end, p_label), RULE_WEIGHT))
    return sorted(out, key=lambda sw: sw[0][0])


def _cue_label(text: str, start: int, end: int, label: str, trimmed: Sequence[str]) -> str | None:
    """A label implied by the words around or inside a repaired name span, or None."""
    form = text[start:end]
    following = _FOLLOWING_WORD_RE.match(text, end)
    next_word = following.group(1) if following else ""
    if label != "PERSON" and (_GEO_COMPOUND_RE.match(form) or next_word in GEO_NOUNS or set(trimmed) & GEO_NOUNS):
        return "LOC"
    if label in {"ORG", "GPE", "LOC"} and set(trimmed[-1:]) & GOVERNMENT_NOUNS:
        return "GPE"
    words = form.split()
    if len(words) >= 2 and words[-1] in ORG_HEADS and label in PLAIN_NAME_LABELS:
        return "ORG"
    return None


def repair_span(text: str, span: Span, weight: float = MODEL_WEIGHT) -> tuple[Span, float] | None:
    """Cut a name span down to the name itself and apply label cues; ``None`` drops it (e.g. a timezone).

    Strips leading determiners ("the", but a capital "The" only at a sentence start), honorifics and other
    lower-case words (not name particles such as "de"), a possessive "’s"/"'s", and trailing lower-case common
    nouns. A label cue (:func:`_cue_label`) replaces the label with rule weight.
    """
    start, end, label = span
    if label not in NAME_LABELS:
        return (start, end, label), weight
    trimmed: list[str] = []
    changed = True
    while changed and start < end:
        changed = False
        piece = text[start:end]
        head = piece.split(maxsplit=1)
        if len(head) == 2:
            word = head[0]
            lead = word in DETERMINERS or (word in {"The", "THE"} and _is_sentence_start(text, start))
            if not lead and label in PLAIN_NAME_LABELS and word.isalpha() and word.islower():
                lead = word not in NAME_PARTICLES
            honorific = _HONORIFIC_RE.match(piece)
            if lead or honorific:
                start += honorific.end() if honorific else len(word)
                start += len(text[start:end]) - len(text[start:end].lstrip())
                changed = True
                continue
        possessive = _POSSESSIVE_RE.search(piece)
        if possessive and possessive.start() > 0:
            end = start + possessive.start()
            changed = True
            continue
        if label in PLAIN_NAME_LABELS:
            tail = piece.rsplit(maxsplit=1)
            if len(tail) == 2 and tail[1].isalpha() and tail[1].islower():
                trimmed.append(tail[1])
                end = start + len(tail[0])
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
    cue = _cue_label(text, start, end, label, trimmed)
    if cue is not None:
        return (start, end, cue), max(weight, RULE_WEIGHT)
    return (start, end, label), weight


_Slot = tuple[int, int, "Mention | None"]


def _align_slot(start: int, end: int, mentions: Sequence[Mention]) -> _Slot | None:
    """Align a list item's chunk with the mentions: ``(start, end, mention or None)``, or None when the chunk
    cannot be one list item (a mention crosses its border, or it holds several mentions)."""
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

    A list is three or more items joined by commas and one final "and"/"or", or two items that both have a
    possessor ("Japan’s Mitsubishi Heavy and Italy’s Leonardo"). The label class (GPE and LOC count as one)
    with more weight than all others together wins, if at least two items or a rule cue carry it; model-labelled
    items of another name label are relabelled, items the model missed are added. Possessors agree the same way.
    """
    runs: list[list[tuple[re.Match[str], _Slot]]] = []
    current: list[tuple[re.Match[str], _Slot]] = []
    previous_end = -1
    for match in _ITEM_RE.finditer(text):
        h_start, h_end = match.span("head")
        words = match.group("head").split()
        intro = False
        while len(words) > 1 and words[0].casefold() in STOP_WORDS:
            intro = True
            h_start = text.index(words[1], h_start + len(words[0]))
            words = words[1:]
        slot = None
        if words[0].casefold() not in STOP_WORDS and not (intro and not match.group("pos")):
            slot = _align_slot(h_start, h_end, mentions)
        if slot is None or (current and not _LIST_SEP_RE.match(text, previous_end, match.start())):
            if len(current) >= 2:
                runs.append(current)
            current = []
        if slot is not None:
            current.append((match, slot))
        previous_end = match.end()
    if len(current) >= 2:
        runs.append(current)
    for run in runs:
        separators = [text[a.end() : b.start()] for (a, _), (b, _) in itertools.pairwise(run)]
        if not _CONJUNCTION_RE.search(separators[-1]) or any(_CONJUNCTION_RE.search(s) for s in separators[:-1]):
            continue
        with_possessor = all(m.group("pos") for m, _ in run)
        if len(run) < 3 and not with_possessor:
            continue
        _agree_slots(text, [slot for _, slot in run], mentions, section, paragraph)
        if with_possessor:
            owners = [_align_slot(m.start("pos"), m.end("pos"), mentions) for m, _ in run]
            _agree_slots(text, [s for s in owners if s is not None], mentions, section, paragraph)


def _label_class(label: str) -> str:
    return "PLACE" if label in _PLACE else label


def _agree_slots(text: str, slots: list[_Slot], mentions: list[Mention], section: str, paragraph: int) -> None:
    weights: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    cues: dict[int, str] = {}
    for i, (_start, end, mention) in enumerate(slots):
        if mention is None:
            following = _FOLLOWING_WORD_RE.match(text, end)
            if following and following.group(1) in GEO_NOUNS:
                cues[i] = "LOC"
                weights["PLACE"] += RULE_WEIGHT
                counts["PLACE"] += 1
            continue
        cls = _label_class(mention.label)
        weights[cls] += RULE_WEIGHT if mention.weight >= RULE_WEIGHT else MODEL_WEIGHT
        counts[cls] += 1
        labels[cls][mention.label] += 1
    if not weights:
        return
    winner = max(weights, key=lambda c: weights[c])
    others = sum(w for c, w in weights.items() if c != winner)
    anchored = weights[winner] >= RULE_WEIGHT
    if winner not in {_label_class(lab) for lab in PLAIN_NAME_LABELS} or weights[winner] <= others:
        return
    if counts[winner] < 2 and not anchored:
        return
    plain = "GPE" if winner == "PLACE" else winner
    for i, (start, end, mention) in enumerate(slots):
        if mention is None:
            mentions.append(Mention(section, paragraph, start, end, text[start:end], cues.get(i, plain), RULE_WEIGHT))
        elif (
            _label_class(mention.label) != winner
            and mention.label in PLAIN_NAME_LABELS
            and mention.weight < RULE_WEIGHT
        ):
            mention.label, mention.weight = plain, RULE_WEIGHT
    mentions.sort(key=lambda m: m.start)


def paragraph_mentions(text: str, spans: Iterable[Span], section: str, paragraph: int) -> list[Mention]:
    """Turn the model's spans for one paragraph into repaired mentions (phrases, span repair, lists)."""
    mentions: list[Mention] = []
    for span, weight in apply_phrase_spans(text, spans):
        repaired = repair_span(text, span, weight)
        if repaired is None:
            continue
        (start, end, label), w = repaired
        if mentions and start < mentions[-1].end:
            continue
        mentions.append(Mention(section, paragraph, start, end, text[start:end], label, w))
    agree_list_labels(text, mentions, section, paragraph)
    return mentions


# --- article-level linking, voting, propagation, salience -----------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, keep: str, other: str) -> None:
        """Join ``other``'s set into ``keep``'s."""
        root_keep, root_other = self.find(keep), self.find(other)
        if root_keep != root_other:
            self.parent[root_other] = root_keep


def vote_label(mentions: Sequence[Mention]) -> str:
    """The label with the most weight over the mentions; ties go to the longest form's label."""
    scores: dict[str, float] = defaultdict(float)
    for m in mentions:
        scores[m.label] += m.weight
    best = max(scores.values())
    for m in sorted(mentions, key=lambda m: -len(m.text.split())):
        if scores[m.label] == best:
            return m.label
    return max(scores, key=lambda k: scores[k])  # pragma: no cover - unreachable


def _org_base(key: str) -> str:
    words = key.split()
    while len(words) > 1 and words[-1].strip(",") in CORPORATE_SUFFIXES:
        words = words[:-1]
    return " ".join(words)


def _initials(form: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s\-]+", form) if w and w[0].isupper())


def _is_company(forms: Iterable[str]) -> bool:
    for form in forms:
        words = form.split()
        if len(words) >= 2 and (words[-1] in COMPANY_HEADS or words[-1].strip(".,").casefold() in CORPORATE_SUFFIXES):
            return True
    return False


@dataclass(slots=True)
class _Linker:
    """Union of name keys that denote one thing within an article."""

    by_key: dict[str, list[Mention]]
    labels: dict[str, str]
    uf: _UnionFind

    def link_org_suffixes(self) -> None:
        roots: dict[str, str] = {}
        for key in sorted(self.by_key, key=len, reverse=True):
            if self.labels[key] == "ORG":
                base = _org_base(key)
                if base in roots:
                    self.uf.union(roots[base], key)
                else:
                    roots[base] = key

    def link_acronyms(self) -> None:
        long_by_initials: dict[str, set[str]] = defaultdict(set)
        for key, ms in self.by_key.items():
            form = max((m.text for m in ms), key=len)
            if len(form.split()) >= 2:
                long_by_initials[_initials(form)].add(key)
        for key, ms in self.by_key.items():
            if _is_acronym(ms[0].text) and not ms[0].alias:
                targets = long_by_initials.get(ms[0].text.replace(".", ""), set()) - {key}
                if len(targets) == 1:
                    self.uf.union(next(iter(targets)), key)

    def link_public_bodies(self) -> None:
        """"Bristol City Council" says "Bristol" is a place: its bare mentions vote GPE."""
        for key, ms in self.by_key.items():
            if self.labels[key] != "ORG":
                continue
            for m in ms:
                match = _PUBLIC_BODY_RE.match(m.text)
                place = self.by_key.get(name_key(match.group("place"))) if match else None
                for p in place or ():
                    if p.weight < RULE_WEIGHT and p.label in PLAIN_NAME_LABELS:
                        p.label, p.weight = "GPE", RULE_WEIGHT

    def link_short_names(self) -> set[str]:
        """Surnames (else unique first names) of one full PERSON name, and first words of one company name.

        Returns the surnames shared by several full names (ambiguous: never linked, never propagated).
        """
        people = [k for k, lab in self.labels.items() if lab == "PERSON" and len(k.split()) >= 2]
        by_last: dict[str, set[str]] = defaultdict(set)
        by_first: dict[str, set[str]] = defaultdict(set)
        for key in people:
            by_last[key.split()[-1]].add(key)
            by_first[key.split()[0]].add(key)
        companies: dict[str, set[str]] = defaultdict(set)
        for key, ms in self.by_key.items():
            if self.labels[key] == "ORG" and len(key.split()) >= 2 and _is_company(m.text for m in ms):
                companies[key.split()[0]].add(key)
        for key, ms in self.by_key.items():
            if len(key.split()) != 1 or self.labels[key] == "NORP" or any(m.alias for m in ms):
                continue
            pinned = {m.label for m in ms if m.weight >= RULE_WEIGHT}
            person = by_last.get(key) or by_first.get(key)
            if person and pinned <= {"PERSON"}:
                for m in ms:
                    m.label = "PERSON"
                if len(person) == 1:
                    self.uf.union(next(iter(person)), key)
            elif len(companies.get(key, ())) == 1 and pinned <= {"ORG"}:
                for m in ms:
                    m.label = "ORG"
                self.uf.union(next(iter(companies[key])), key)
        return {last for last, keys in by_last.items() if len(keys) > 1}


def link_names(mentions: Sequence[Mention]) -> tuple[list[list[Mention]], set[str]]:
    """Group the name mentions of one article into entities (aliases, acronyms, suffixes, short names).

    Returns the groups and the set of ambiguous surnames (shared by several full names).
    """
    by_key: dict[str, list[Mention]] = defaultdict(list)
    uf = _UnionFind()
    for m in mentions:
        m.alias = lookup_alias(m.text)
        m.key = name_key(m.alias[0]) if m.alias else name_key(m.text)
        if m.alias:
            m.label, m.weight = m.alias[1], ALIAS_WEIGHT
        by_key[m.key].append(m)
        uf.find(m.key)
    linker = _Linker(by_key, {key: vote_label(ms) for key, ms in by_key.items()}, uf)
    linker.link_public_bodies()
    linker.labels = {key: vote_label(ms) for key, ms in by_key.items()}
    linker.link_org_suffixes()
    linker.link_acronyms()
    ambiguous = linker.link_short_names()
    groups: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        groups[uf.find(m.key)].append(m)
    return list(groups.values()), ambiguous


def canonical_name(mentions: Sequence[Mention], label: str) -> str:
    """The name of an entity: the alias's full name when the article uses it ("U.S." + "United States of
    America" + "United States" -> "United States"), else its longest surface form (in words), preferring full
    forms over acronyms and forms carrying the entity's label; acronyms alone take the alias's full name."""
    pool = [m for m in mentions if m.label == label] or list(mentions)
    forms = {m.text for m in mentions}
    for m in mentions:
        if m.alias and m.alias[0] in forms:
            return m.alias[0]
    full = [m for m in pool if not _is_acronym(m.text)]
    if not full:
        for m in pool:
            if m.alias:
                return m.alias[0]
        full = pool
    counts = Counter(m.text for m in full)
    first_seen: dict[str, int] = {}
    for i, m in enumerate(full):
        first_seen.setdefault(m.text, i)
    return max(counts, key=lambda t: (len(t.split()), counts[t], len(t), -first_seen[t]))


def _propagation_forms(group: Sequence[Mention], label: str, ambiguous: set[str]) -> set[str]:
    forms = {m.text for m in group if m.weight > PROPAGATED_WEIGHT}
    if label == "PERSON":
        longest = max(forms, key=lambda f: len(f.split()))
        words = longest.split()
        if len(words) >= 2 and words[-1].casefold() not in ambiguous:
            forms.add(words[-1])
    return {
        f
        for f in forms
        if len(f) >= 3 and f[0].isupper() and f.casefold() not in STOP_WORDS and f not in CALENDAR_WORDS
    }


def propagate_mentions(
    article: ArticleText, groups: list[list[Mention]], labels: list[str], ambiguous: set[str], title_case: bool
) -> None:
    """Add the bare occurrences of known names and surnames that the model missed, in place.

    An occurrence counts when it is a whole word sequence not inside another mention and not glued to another
    capitalised word ("Garside said", "Pritchard’s amendment", but not "Garside Street"); in a Title Case
    headline every capitalised word is glued, so there the neighbour test is skipped.
    """
    owner: dict[str, int] = {}
    for index, (group, label) in enumerate(zip(groups, labels, strict=True)):
        if label in NAME_LABELS:
            for form in _propagation_forms(group, label, ambiguous):
                owner.setdefault(form, index)
    if not owner:
        return
    pattern = re.compile(
        r"(?<![\w\-])(?:" + "|".join(re.escape(f) for f in sorted(owner, key=len, reverse=True)) + r")(?![\w\-])"
    )
    taken: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for group in groups:
        for m in group:
            taken[(m.section, m.paragraph)].append((m.start, m.end))
    for section, paragraph, text in article.segments():
        spans = taken[(section, paragraph)]
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for s, e in spans):
                continue
            if not (section == "title" and title_case) and (
                (_CAPITAL_BEFORE_RE.search(text, 0, start) and not _is_sentence_start(text, start))
                or _CAPITAL_AFTER_RE.match(text, end)
            ):
                continue
            index = owner[match.group()]
            groups[index].append(
                Mention(section, paragraph, start, end, match.group(), labels[index], PROPAGATED_WEIGHT)
            )
            spans.append((start, end))


def _fit_headline(title: str, mentions: list[Mention], known: set[str]) -> list[Mention]:
    """Keep the mentions of a Title Case headline that name things known from the rest of the article (cut
    down to the longest known word run), and single words; drop the rest ("Rome Seeks")."""
    kept: list[Mention] = []
    for m in mentions:
        if not m.is_name or name_key(m.text) in known or len(m.text.split()) == 1:
            kept.append(m)
            continue
        words = list(re.finditer(r"\S+", m.text))
        runs = sorted(
            ((i, j) for i in range(len(words)) for j in range(i + 1, len(words) + 1)), key=lambda ij: ij[0] - ij[1]
        )
        for i, j in runs:
            start, end = m.start + words[i].start(), m.start + words[j - 1].end()
            if name_key(title[start:end]) in known:
                kept.append(Mention(m.section, m.paragraph, start, end, title[start:end], m.label, m.weight))
                break
    return kept


def _salience(mentions: Sequence[Mention], max_count: int, n_body: int, is_name: bool) -> float:
    sections = {m.section for m in mentions}
    body = [m.paragraph for m in mentions if m.section == "body"]
    if sections & {"title", "standfirst"}:
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
    by_segment: dict[tuple[str, int], list[Mention]] = {}
    for section, paragraph, text in article.segments():
        by_segment[(section, paragraph)] = paragraph_mentions(
            text, spans.get((section, paragraph), ()), section, paragraph
        )
    title_case = bool(article.title) and is_title_case(article.title or "")
    if title_case and ("title", 0) in by_segment:
        known = {name_key(m.text) for key, ms in by_segment.items() if key[0] != "title" for m in ms}
        known |= {k.split()[-1] for k in known if len(k.split()) >= 2}
        by_segment[("title", 0)] = _fit_headline(article.title or "", by_segment[("title", 0)], known)
    mentions = [m for ms in by_segment.values() for m in ms]
    groups, ambiguous = link_names([m for m in mentions if m.is_name])
    values: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for m in mentions:
        if not m.is_name:
            values[(m.label, m.text.casefold())].append(m)
    groups.extend(values.values())
    labels = [vote_label(g) if g[0].is_name else g[0].label for g in groups]
    propagate_mentions(article, groups, labels, ambiguous, title_case)
    max_count = max((len(g) for g in groups), default=0)
    order = {s: i for i, s in enumerate(SECTIONS)}
    entities: list[dict[str, Any]] = []
    for group, label in zip(groups, labels, strict=True):
        group.sort(key=lambda m: (order[m.section], m.paragraph, m.start))
        entities.append(
            {
                "name": canonical_name(group, label),
                "label": label,
                "forms": sorted({m.text for m in group}),
                "count": len(group),
                "salience": _salience(group, max_count, len(article.body), label in NAME_LABELS),
                "mentions": [m.as_dict() for m in group],
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
    found = find_spans(nlp, articles, batch_size=batch_size)
    return [merge_mentions(article, spans) for article, spans in zip(articles, found, strict=True)]


#: Entity spans the model found, per ``(section, paragraph)`` of one article.
SpanMap = dict[tuple[str, int], list[Span]]


def find_spans(nlp: Language, articles: Sequence[ArticleText], *, batch_size: int = 64) -> list[SpanMap]:
    """The model's half of :func:`tag_articles`: raw ``(start, end, label)`` spans per segment of each article.

    Plain tuples, so they cross a process boundary cheaply; :func:`merge_mentions` does the rest.
    """
    keys: list[tuple[int, str, int, int]] = []
    texts: list[str] = []
    limit = max(1, nlp.max_length - 1)
    for index, article in enumerate(articles):
        for section, paragraph, text in article.segments():
            for offset, piece in split_for_model(text, limit):
                keys.append((index, section, paragraph, offset))
                texts.append(piece)
    found: list[SpanMap] = [defaultdict(list) for _ in articles]
    zone = nlp.memory_zone() if hasattr(nlp, "memory_zone") else contextlib.nullcontext()
    with zone:
        docs = nlp.pipe(texts, batch_size=batch_size)
        for (index, section, paragraph, offset), doc in zip(keys, docs, strict=True):
            found[index][(section, paragraph)].extend(
                (offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents
            )
    return [dict(spans) for spans in found]
