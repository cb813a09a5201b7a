"""Article extraction entry point: plain text or HTML in, an ``Extraction`` out. Pure, no I/O."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workers.cleaning.language import detect_language
from workers.cleaning.plaintext import extract_text_article

__all__ = ["MAX_CONTENT_CHARS", "Extraction", "extract_article"]

logger = logging.getLogger(__name__)

MAX_CONTENT_CHARS = 12_000_000
"""Content longer than this is not parsed at all (flag ``too_large``)."""

_MIN_BODY_CHARS = 1
_ODD_CHAR_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


@dataclass(frozen=True, slots=True)
class Extraction:
    """The cleaned article: header fields, body paragraphs and what was dropped."""

    title: str | None
    standfirst: str | None
    authors: list[str]
    published_at: datetime | None
    language: str | None
    publisher: str | None
    body: list[str]
    lines_in: int
    lines_removed: int
    flags: list[str]


def _empty(flags: list[str], lines_in: int = 0) -> Extraction:
    return Extraction(
        title=None, standfirst=None, authors=[], published_at=None, language=None, publisher=None,
        body=[], lines_in=lines_in, lines_removed=lines_in, flags=flags,
    )


def _looks_binary(content: str) -> bool:
    sample = content[:4096]
    if not sample:
        return False
    return len(_ODD_CHAR_RE.findall(sample)) / len(sample) > 0.1


def extract_article(
    content: str,
    content_type: str,
    *,
    url: str | None = None,
    fetched_at: datetime | None = None,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> Extraction:
    """Extract title, standfirst, authors, date, language, publisher and body paragraphs.

    ``content_type`` is "text/plain" or "text/html". Pure, no I/O. Never raises on odd input: empty,
    binary, oversized or article-less content gives an Extraction with an empty body and a flag.
    """
    if not isinstance(content, str) or not content.strip():
        return _empty(["empty_content"])
    if len(content) > MAX_CONTENT_CHARS:
        return _empty(["too_large"])
    if _looks_binary(content):
        return _empty(["binary_content"])
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/html":
        from workers.cleaning.webpage import extract_html_article

        return extract_html_article(content, url=url, fetched_at=fetched_at, is_known_boilerplate=is_known_boilerplate)
    found = extract_text_article(content, fetched_at=fetched_at, is_known_boilerplate=is_known_boilerplate)
    flags: list[str] = ["truncated"] if found.truncated else []
    if sum(len(p) for p in found.body) < _MIN_BODY_CHARS:
        flags.append("no_article")
    language_sample = "\n".join(found.body) or (found.title or "")
    return Extraction(
        title=found.title,
        standfirst=found.standfirst,
        authors=found.authors,
        published_at=found.published_at,
        language=detect_language(language_sample),
        publisher=None,
        body=found.body,
        lines_in=found.lines_in,
        lines_removed=found.lines_removed,
        flags=flags,
    )
