"""Bylines: turn "By Jane Doe and John Roe, Staff Writers" into ["Jane Doe", "John Roe"]."""

from __future__ import annotations

import re

__all__ = ["looks_like_person_name", "parse_byline"]

# "By" in the languages news scrapes come in: en, es/pt, fr, de, it, nl, sv/nb/da, pl.
_BY_RE = re.compile(
    r"^\s*(?:written\s+|story\s+|words\s+|reported\s+|escrito\s+|texto\s+|publicado\s+)?"
    r"(?:by|por|par|von|di|door|av|af|przez)[:\s]\s*(.+)$",
    re.IGNORECASE,
)
_AUTHOR_LABEL_RE = re.compile(
    r"^\s*(?:authors?|writers?|reporters?|autor(?:a|es)?|auteurs?|autore|autori|redacción|redakteur(?:in)?)"
    r"\s*[:|]\s*(.+)$",
    re.IGNORECASE,
)
_SPLIT_RE = re.compile(
    r"\s*(?:,|;|&|\band\b|(?-i:\b(?:y|e|i|et|und|en|og|och)\b(?!\.))|\|| - | – | — |\b(?:with|con|avec|mit)\b|/)\s*",
    re.IGNORECASE,
)
_ROLE_WORDS = frozenset(
    """
    correspondent editor reporter writer staff contributor columnist producer senior chief
    political correspondent associate assistant deputy managing executive news sports business
    science health technology tech culture digital desk bureau freelance journalist analyst
    critic photographer photos photo video special contributing guest intern associated press
    reuters afp ap wire agency updated published posted team online newsroom
    redactor redactora corresponsal periodista enviado enviada especial redacción rédaction correspondant
    correspondante journaliste envoyé envoyée redakteur redakteurin korrespondent korrespondentin redaktion
    giornalista inviato inviata corrispondente redazione jornalista repórter correspondente agencia agencia
    actualizado publicado mis jour aktualisiert
    """.split()
)
_PARTICLES = frozenset({"de", "da", "del", "della", "der", "den", "di", "du", "van", "von", "bin", "al", "la",
                        "le", "dos", "das", "ibn", "st", "ten", "ter", "zu"})
# A capitalised name token in any script with case ("Lucía", "Łukasz", "Ólafur", "O’Neil", "J.").
_NAME_TOKEN_RE = re.compile(r"^[^\W\d_][\w'’.-]*$")
_TRAILING_JUNK_RE = re.compile(r"\s*(?:\(.*\)|\bon\s+\w+day\b.*|\bupdated\b.*|\bpublished\b.*|@\w+.*)$",
                               re.IGNORECASE)
_DIGIT_RE = re.compile(r"\d")
# Every match of _TRAILING_JUNK_RE holds one of these, lower-cased: IGNORECASE matches a letter of them only with
# the same letter in either case, or with one of _ODD_FOLDS ("ſ" matches "s", "İ" and "ı" match "i", the Kelvin
# sign matches "k"), which ``str.lower`` does not map onto it.
_JUNK_NEEDLES = ("(", "@", "day", "updated", "published")
_ODD_FOLDS = ("\u0130", "\u0131", "\u017f", "\u212a")


def looks_like_person_name(text: str) -> bool:
    """True for a bare "Firstname Lastname"-shaped string (2-5 capitalised tokens, no digits)."""
    text = text.strip()
    if not 4 <= len(text) <= 48 or _DIGIT_RE.search(text):
        return False
    tokens = text.split()
    if not 2 <= len(tokens) <= 5:
        return False
    capitalised = 0
    for token in tokens:
        if token.lower() in _PARTICLES:
            continue
        if not token[0].isupper() or not _NAME_TOKEN_RE.match(token):
            return False
        if token.lower().strip(".") in _ROLE_WORDS:
            return False
        capitalised += 1
    return (capitalised >= 2 and not text.isupper()) or (text.isupper() and capitalised >= 2 and len(tokens) <= 4)


def _without_trailing_junk(part: str) -> str:
    """``_TRAILING_JUNK_RE.sub("", part)``; the regex, which tries every position of the part, only runs on
    the parts that hold one of the pieces each of its matches needs (few do)."""
    lowered = part.lower()
    if any(needle in lowered for needle in _JUNK_NEEDLES) or (
            not part.isascii() and any(odd in part for odd in _ODD_FOLDS)):
        return _TRAILING_JUNK_RE.sub("", part)
    return part


def _clean_name(part: str) -> str | None:
    part = _without_trailing_junk(part).strip(" .:-–—,")
    if not part:
        return None
    if part.isupper():
        part = part.title()
    if looks_like_person_name(part):
        return part
    return None


def parse_byline(line: str, *, bare: bool = False) -> list[str] | None:
    """Names from a byline line, without "By" and without roles; None when the line is no byline.

    With ``bare=True`` a line that is just a name ("Mari Yamaguchi") also counts as a byline;
    callers use that only next to a dateline or headline, where a bare name is a byline.
    """
    line = line.strip()
    if not line or len(line) > 200:
        return None
    m = _BY_RE.match(line) or _AUTHOR_LABEL_RE.match(line)
    if m is None and not bare:
        return None
    rest = m.group(1) if m else line
    names: list[str] = []
    for part in _SPLIT_RE.split(rest):
        name = _clean_name(part)
        if name and name not in names:
            names.append(name)
    if not names:
        return None
    return names
