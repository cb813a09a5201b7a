"""Publication dates as news sites print them, parsed to timezone-aware UTC datetimes.

Handles ISO 8601 / RFC 3339, "Monday 05 February 2024 13:07 GMT", "Feb. 5, 2024, 1:07 p.m. ET",
"10:48, Tue, Nov 19, 2019", "2024/02/05", numeric day/month forms and relative forms such as
"2 hours ago" (resolved against the record's ``fetched_at``). The regexes are compiled once and
only lines that look like date candidates are examined, so this is cheap enough to run over the
head of every article.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "ALL_FORMS", "DIGIT_FORMS", "WORD_FORMS", "YEAR_FORMS", "looks_like_date_line", "lowered_date_line",
    "parse_date_text", "parse_iso_datetime",
]

_MONTHS: dict[str, int] = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH_ALT = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# Month names and common abbreviations of other languages news sites print (es, fr, de, it, pt, nl,
# ca, sv, da, nb, pl, ro), taken from dateparser's CLDR-derived translation data. They are only
# accepted in a full day-month-year (or month-day-year) pattern, never alone.
_FOREIGN_MONTHS: dict[int, str] = {
    1: "ene gen ian sty janv enero gener januar jänner gennaio janeiro januari janvier styczen styczeń ianuarie "
       "stycznia styczniu",
    2: "fev fév lut febr févr luty feber lutym febrer lutego febrero februar février febbraio februari februarie "
       "fevereiro",
    3: "mrt mrz mär mars mart març märz maart marca marcu marts marzo março martie marzec",
    4: "abr avr kwi kwie abril avril aprile aprilie kwiecien kwiecień kwietnia kwietniu",
    5: "mag mai maj mei maig maio maja maju mayo maggio",
    6: "cze giu iun juin juni juny iunie junho junio giugno czerwca czerwcu czerwiec",
    7: "iul lip lug juil juli iulie julho julio lipca lipcu juliol lipiec luglio juillet",
    8: "ago aoû sie août agost agosto augusti augustus sierpien sierpień sierpnia sierpniu",
    9: "set wrz setembre setembro wrzesien wrzesień wrzesnia wrzesniu września wrześniu septembre septembro "
       "setiembre settembre septembrie septiembre",
    10: "okt ott out paz paź octobre octubre oktober ottobre outubro octombrie pazdziernik październik "
        "pazdziernika pazdzierniku października październiku",
    11: "lis noiem listopad novembre novembro listopada noiembrie noviembre listopadzie",
    12: "des dez dic déc gru grudnia grudniu desember desembre dezember dezembro dicembre décembre grudzien "
        "grudzień decembrie diciembre",
}
for _number, _names in _FOREIGN_MONTHS.items():
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)
_FOREIGN_ALT = "(?:" + "|".join(
    sorted((n for names in _FOREIGN_MONTHS.values() for n in names.split()), key=len, reverse=True)) + ")"


def _trie_alternation(words: list[str]) -> str:
    """A regex matching exactly the strings of ``words``, factored by common prefixes so that the engine
    tests each first character once instead of once per word. Whether some word matches is the same as
    with a plain alternation, which one may differ: use it where that cannot matter (yes/no searches, or
    a word that has to fill a whole word of the text)."""
    heads: dict[str, list[str]] = {}
    for word in words:
        if word:
            heads.setdefault(word[0], []).append(word[1:])
    branches = [re.escape(head) + _trie_alternation(tails) for head, tails in sorted(heads.items())]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in words else body


_FOREIGN_TRIE = "(?:" + _trie_alternation([n for names in _FOREIGN_MONTHS.values() for n in names.split()]) + ")"
# Every month name (English and foreign). In the date patterns below a name is always a whole word
# (a word boundary before it, a boundary or "."/whitespace after), so the factored form matches the same text.
_ANY_MONTH_TRIE = "(?:" + _trie_alternation(list(_MONTHS)) + ")"

_NY = ZoneInfo("America/New_York")
_CHI = ZoneInfo("America/Chicago")
_DEN = ZoneInfo("America/Denver")
_LA = ZoneInfo("America/Los_Angeles")
_LON = ZoneInfo("Europe/London")
_PAR = ZoneInfo("Europe/Paris")
_TZ_ABBR: dict[str, tzinfo] = {
    "gmt": UTC, "utc": UTC, "z": UTC, "bst": _LON, "wet": _LON,
    "et": _NY, "est": _NY, "edt": _NY, "ct": _CHI, "cst": _CHI, "cdt": _CHI,
    "mt": _DEN, "mst": _DEN, "mdt": _DEN, "pt": _LA, "pst": _LA, "pdt": _LA,
    "cet": _PAR, "cest": _PAR, "ist": ZoneInfo("Asia/Kolkata"), "jst": ZoneInfo("Asia/Tokyo"),
    "kst": ZoneInfo("Asia/Seoul"), "aest": ZoneInfo("Australia/Sydney"),
    "aedt": ZoneInfo("Australia/Sydney"), "hkt": ZoneInfo("Asia/Hong_Kong"),
    "sgt": ZoneInfo("Asia/Singapore"), "msk": ZoneInfo("Europe/Moscow"),
}

_ISO_RE = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?(?!\d)",
    re.IGNORECASE,
)
_DMY_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?\s*(?:of\s+|de\s+|di\s+)?\b({_ANY_MONTH_TRIE})\b\.?,?"
    rf"\s+(?:de\s+|del\s+)?(\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_MDY_RE = re.compile(
    rf"\b({_ANY_MONTH_TRIE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)
_YMD_SLASH_RE = re.compile(r"(?<!\d)(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?!\d)")
_NUMERIC_RE = re.compile(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?![\d/.])")
_TIME_RE = re.compile(
    r"(?<![\d:])(\d{1,2})(?:[:.h](\d{2}))?(?::(\d{2}))?\s*(?:([ap])\.?\s?m\b\.?)?",
    re.IGNORECASE,
)
_TZ_RE = re.compile(
    r"(?:\b(GMT|UTC|BST|WET|E[SD]?T|C[SD]?T|M[SD]?T|P[SD]?T|CEST|CET|IST|JST|KST|AEST|AEDT|HKT|SGT|MSK)\b"
    r"(?:\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?)?)|(?<![\w:])([+-])(\d{2}):?(\d{2})\b",
)
_RELATIVE_RE = re.compile(
    r"\b(\d+|an?|one)\s+(sec(?:ond)?s?|min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|weeks?)\s+ago\b",
    re.IGNORECASE,
)
# "hace 2 horas", "il y a 3 heures", "vor 2 Stunden", "há 5 minutos", "2 ore fa", "3 uur geleden", ...
_RELATIVE_FOREIGN_RE = re.compile(
    r"\b(?:hace|il\s+y\s+a|vor|há|ha)\s+(\d+)\s+(\w+)|\b(\d+)\s+(\w+)\s+(?:fa|geleden|sedan|siden|temu)\b",
    re.IGNORECASE,
)
_FOREIGN_UNITS: dict[str, str] = {
    "segundo": "s", "segundos": "s", "secondes": "s", "seconde": "s", "sekunden": "s", "secondi": "s",
    "minuto": "m", "minutos": "m", "minutes": "m", "minute": "m", "minuten": "m", "minuti": "m", "min": "m",
    "hora": "h", "horas": "h", "heure": "h", "heures": "h", "stunde": "h", "stunden": "h", "ora": "h", "ore": "h",
    "uur": "h", "timme": "h", "timmar": "h", "time": "h", "timer": "h", "godzin": "h", "godziny": "h",
    "día": "d", "días": "d", "dia": "d", "dias": "d", "jour": "d", "jours": "d", "tag": "d", "tagen": "d",
    "giorno": "d", "giorni": "d", "dag": "d", "dagen": "d", "dagar": "d", "dager": "d", "dni": "d",
    "semana": "w", "semanas": "w", "semaine": "w", "semaines": "w", "woche": "w", "wochen": "w",
    "settimana": "w", "settimane": "w", "week": "w", "weken": "w",
}
_SEGMENT_SPLIT_RE = re.compile(r"\||\bupdated\b|\bmodified\b|\blast\s+edited\b", re.IGNORECASE)
_CANDIDATE_RE = re.compile(
    rf"\d{{4}}-\d{{2}}-\d{{2}}|\b{_MONTH_ALT}\b\.?\s*\d|\d\s*{_MONTH_ALT}\b|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{4}}"
    r"|\d{4}/\d{1,2}/\d{1,2}|\bago\b"
    rf"|\d\.?\s+(?:de\s+|di\s+)?{_FOREIGN_ALT}\b\.?,?\s+(?:de\s+|del\s+)?\d{{4}}|\b{_FOREIGN_ALT}\.?\s+\d{{1,2}},?\s+\d{{4}}"
    r"|\b(?:hace|il\s+y\s+a|vor|há)\s+\d|\d\s+\w+\s+(?:fa|geleden|sedan|siden|temu)\b",
    re.IGNORECASE,
)


_CANDIDATE_LOWER_RE = re.compile(_CANDIDATE_RE.pattern)
# The same test (a line is a candidate when one of these finds something) split by how a match starts. The
# regex engine only skips ahead to the places where a match can start when every alternative begins with a
# character class or literal: the alternatives that begin with a digit are searched together (the engine then
# tries the digits only), those that begin at a word boundary apart (it tries every position for those). The
# forms without a four-digit year come first; all others need one, the foreign-month names only in them.
_SHORT_DIGIT_LOWER_RE = re.compile(rf"\d(?:\s*{_MONTH_ALT}\b|\s+\w+\s+(?:fa|geleden|sedan|siden|temu)\b)")
_SHORT_WORD_LOWER_RE = re.compile(rf"\b(?:{_MONTH_ALT}\b\.?\s*\d|ago\b|(?:hace|il\s+y\s+a|vor|há)\s+\d)")
_YEAR_DIGIT_LOWER_RE = re.compile(
    r"\d(?:\d{3}-\d{2}-\d{2}|\d?[/.]\d{1,2}[/.]\d{4}|\d{3}/\d{1,2}/\d{1,2}"
    rf"|\.?\s+(?:de\s+|di\s+)?{_FOREIGN_TRIE}\b\.?,?\s+(?:de\s+|del\s+)?\d{{4}})"
)
_YEAR_WORD_LOWER_RE = re.compile(rf"\b{_FOREIGN_TRIE}\.?\s+\d{{1,2}},?\s+\d{{4}}")
# Every match of _YEAR_WORD_LOWER_RE holds one of this (the last space before the day, the day and the year),
# which is searched first: it starts with a character class.
_YEAR_WORD_TAIL_RE = re.compile(r"\s\d{1,2},?\s+\d{4}")
_DIGIT_RE = re.compile(r"\d")


WORD_FORMS = 1
"""``lowered_date_line``: the forms without a year that start at a date word ("Feb 5", "2 hours ago", "hace 3")."""
DIGIT_FORMS = 2
"""``lowered_date_line``: the forms without a year that start at a digit ("5 Feb", "5feb", "3 uur geleden")."""
YEAR_FORMS = 4
"""``lowered_date_line``: the forms with a four-digit year (ISO, numeric, foreign month names)."""
ALL_FORMS = WORD_FORMS | DIGIT_FORMS | YEAR_FORMS


def looks_like_date_line(line: str, *, short_forms: bool = True) -> bool:
    """Cheap pre-check: could this (short) line carry a publication date? ``short_forms=False`` says the
    forms without a four-digit year cannot match (the lower-cased line has no month, "ago" or other date
    word as a whole token and no digit followed by a letter), so only the forms with one are tried."""
    if len(line) > 160:
        return False
    lowered = line.lower()
    # Every candidate form has a digit, except the English relative "an hour ago".
    if _DIGIT_RE.search(line) is None and "ago" not in lowered:
        return False
    return lowered_date_line(lowered, ALL_FORMS if short_forms else YEAR_FORMS)


def lowered_date_line(lowered: str, forms: int = ALL_FORMS) -> bool:
    """``looks_like_date_line`` of a line that passed its length and digit checks, given lower-cased.
    ``forms`` (``WORD_FORMS | DIGIT_FORMS | YEAR_FORMS``) names the groups of forms that can match; a
    caller that knows the line's tokens leaves out the others: the word forms need a date word as a whole
    token (``pagetext.DATE_WORDS``), the digit forms a digit followed by a letter or such a token, the year
    forms four digits in a row. (Any order of the searches gives the same answer; the word forms, the
    usual match, go first.)"""
    if forms & WORD_FORMS and _SHORT_WORD_LOWER_RE.search(lowered) is not None:
        return True
    if forms & DIGIT_FORMS and _SHORT_DIGIT_LOWER_RE.search(lowered) is not None:
        return True
    return bool(forms & YEAR_FORMS) and (_YEAR_DIGIT_LOWER_RE.search(lowered) is not None or (
        _YEAR_WORD_TAIL_RE.search(lowered) is not None and _YEAR_WORD_LOWER_RE.search(lowered) is not None))


def parse_iso_datetime(value: str) -> datetime | None:
    """Parse an ISO 8601 / RFC 3339 timestamp (as in JSON-LD or meta tags) to UTC, else None."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return parse_date_text(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _checked_utc(parsed)


def _checked_utc(moment: datetime) -> datetime | None:
    if not 1990 <= moment.year <= 2100:
        return None
    return moment.astimezone(UTC)


def _time_of_day(segment: str, date_span: tuple[int, int]) -> tuple[int, int, int] | None:
    """The clock time closest to the date inside one segment, as (hour, minute, second)."""
    best: tuple[int, tuple[int, int, int]] | None = None
    for m in _TIME_RE.finditer(segment):
        if date_span[0] <= m.start() < date_span[1]:
            continue
        hour_s, minute_s, second_s, ampm = m.group(1), m.group(2), m.group(3), m.group(4)
        if minute_s is None and ampm is None:
            continue
        hour, minute = int(hour_s), int(minute_s or 0)
        if ampm:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
        if hour > 23 or minute > 59:
            continue
        distance = min(abs(m.start() - date_span[1]), abs(date_span[0] - m.end()))
        if best is None or distance < best[0]:
            best = (distance, (hour, minute, int(second_s or 0)))
    return best[1] if best else None


def _zone(segment: str) -> tzinfo | None:
    m = _TZ_RE.search(segment)
    if m is None:
        return None
    if m.group(1):
        base = _TZ_ABBR.get(m.group(1).lower())
        if m.group(2) and base is UTC:
            sign = 1 if m.group(2) == "+" else -1
            return timezone(sign * timedelta(hours=int(m.group(3)), minutes=int(m.group(4) or 0)))
        return base
    sign = 1 if m.group(5) == "+" else -1
    return timezone(sign * timedelta(hours=int(m.group(6)), minutes=int(m.group(7))))


def _date_in(segment: str) -> tuple[int, int, int, tuple[int, int], tzinfo | None] | None:
    """(year, month, day, span, explicit offset) of the first calendar date in a segment."""
    found: list[tuple[int, int, int, int, tuple[int, int], tzinfo | None]] = []
    # (a search is skipped when the segment lacks the separator its pattern needs: "-" for the ISO form, "/" or
    # "." for the numeric ones; no case folding makes these characters out of others)
    m = _ISO_RE.search(segment) if "-" in segment else None
    if m and m.group(4):
        # A full ISO timestamp: let the standard parser read it (time and offset included).
        return None
    if m:
        offset: tzinfo | None = None
        if m.group(7):
            off = m.group(7).upper()
            if off == "Z":
                offset = UTC
            else:
                digits = off[1:].replace(":", "")
                sign = 1 if off[0] == "+" else -1
                offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        found.append((m.start(), int(m.group(1)), int(m.group(2)), int(m.group(3)), m.span(), offset))
    m = _DMY_RE.search(segment)
    if m:
        month = _MONTHS[m.group(2).lower()]
        found.append((m.start(), int(m.group(3)), month, int(m.group(1)), m.span(), None))
    m = _MDY_RE.search(segment)
    if m:
        month = _MONTHS[m.group(1).lower()]
        found.append((m.start(), int(m.group(3)), month, int(m.group(2)), m.span(), None))
    slash_or_dot = "/" in segment or "." in segment
    m = _YMD_SLASH_RE.search(segment) if slash_or_dot else None
    if m:
        found.append((m.start(), int(m.group(1)), int(m.group(2)), int(m.group(3)), m.span(), None))
    m = _NUMERIC_RE.search(segment) if slash_or_dot else None
    if m:
        first, second = int(m.group(1)), int(m.group(2))
        # Day-first unless that is impossible (US style month/day then).
        day, month = (first, second) if second <= 12 else (second, first)
        found.append((m.start(), int(m.group(3)), month, day, m.span(), None))
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    _, year, month, day, span, offset = found[0]
    return year, month, day, span, offset


def parse_date_text(text: str, *, fetched_at: datetime | None = None) -> datetime | None:
    """Parse the first publication date printed in ``text`` to an aware UTC datetime, else None.

    Times without a zone are taken as UTC; "ET", "PT", "BST", ... follow the real zone's DST rules.
    Relative forms ("2 hours ago") need ``fetched_at``.
    """
    if not text or len(text) > 400:
        return None
    iso = _ISO_RE.search(text) if "-" in text else None
    if iso is not None and iso.group(4):
        stamp = iso.group(0).replace(" ", "T", 1)
        try:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return _checked_utc(moment if moment.tzinfo else moment.replace(tzinfo=_zone(text) or UTC))
    for segment in _SEGMENT_SPLIT_RE.split(text):
        found = _date_in(segment)
        if found is None:
            continue
        year, month, day, span, offset = found
        clock = _time_of_day(segment, span) or (0, 0, 0)
        zone = offset or _zone(segment[span[1]:]) or _zone(segment) or UTC
        try:
            local = datetime(year, month, day, *clock, tzinfo=zone)
        except ValueError:
            continue
        return _checked_utc(local)
    if fetched_at is not None:
        return _relative_to(text, fetched_at)
    return None


def _relative_parts(text: str) -> tuple[str, str] | None:
    m = _RELATIVE_RE.search(text)
    if m is not None:
        return m.group(1).lower(), m.group(2).lower()
    for m in _RELATIVE_FOREIGN_RE.finditer(text):
        amount_s, word = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        unit = _FOREIGN_UNITS.get(word.lower())
        if unit is not None:
            return amount_s, {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]
    return None


def _relative_to(text: str, fetched_at: datetime) -> datetime | None:
    parts = _relative_parts(text)
    if parts is None:
        return None
    amount_s, unit = parts
    amount = 1 if amount_s in {"a", "an", "one"} else int(amount_s)
    if unit.startswith("s"):
        delta = timedelta(seconds=amount)
    elif unit.startswith("m"):
        delta = timedelta(minutes=amount)
    elif unit.startswith("h"):
        delta = timedelta(hours=amount)
    elif unit.startswith("d"):
        delta = timedelta(days=amount)
    else:
        delta = timedelta(weeks=amount)
    base = fetched_at if fetched_at.tzinfo is not None else fetched_at.replace(tzinfo=UTC)
    return (base - delta).astimezone(UTC)
