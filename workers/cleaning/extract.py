"""Article extraction entry point: plain text or HTML in, an ``Extraction`` out. Pure, no I/O."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from workers.cleaning.language import detect_languages
from workers.cleaning.native import speedups as _speedups
from workers.cleaning.plaintext import TextArticle, TextPage, extract_text_articles

__all__ = ["MAX_CONTENT_CHARS", "ArticleInput", "Extraction", "extract_article", "extract_articles"]

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
    size = min(len(content), 4096)
    if not size:
        return False
    if _speedups is not None:
        odd = _speedups.count_odd_chars(content, size)
    else:
        odd = len(_ODD_CHAR_RE.findall(content[:size]))
    return odd / size > 0.1


@dataclass(frozen=True, slots=True)
class ArticleInput:
    """One page to extract, with the arguments ``extract_article`` takes."""

    content: str
    content_type: str
    url: str | None = None
    fetched_at: datetime | None = None
    is_known_boilerplate: Callable[[str], bool] | None = None


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
    return extract_articles([ArticleInput(content, content_type, url, fetched_at, is_known_boilerplate)])[0]


def extract_articles(inputs: Sequence[ArticleInput]) -> list[Extraction]:
    """``extract_article`` of every input, in order, with the plain-text pages processed as a batch.

    The plain-text pages are analysed, scored and language-detected together (in batches of bounded size,
    see ``plaintext.BATCH_CHARS``), which shares numpy's fixed per-call costs; HTML pages are extracted one
    by one. Every result is the one ``extract_article`` gives for the input alone.
    """
    results: list[Extraction | None] = [None] * len(inputs)
    text_at: list[int] = []
    for k, item in enumerate(inputs):
        content = item.content
        if not isinstance(content, str) or not content.strip():
            results[k] = _empty(["empty_content"])
        elif len(content) > MAX_CONTENT_CHARS:
            results[k] = _empty(["too_large"])
        elif _looks_binary(content):
            results[k] = _empty(["binary_content"])
        elif item.content_type.split(";")[0].strip().lower() == "text/html":
            from workers.cleaning.webpage import extract_html_article

            results[k] = extract_html_article(content, url=item.url, fetched_at=item.fetched_at,
                                              is_known_boilerplate=item.is_known_boilerplate)
        else:
            text_at.append(k)
    found = extract_text_articles([
        TextPage(inputs[k].content, inputs[k].fetched_at, inputs[k].is_known_boilerplate) for k in text_at
    ])
    languages = detect_languages(["\n".join(f.body) or (f.title or "") for f in found])
    for k, article, language in zip(text_at, found, languages, strict=True):
        results[k] = _text_extraction(article, language)
    return cast(list[Extraction], results)  # every slot is filled above


def _text_extraction(found: TextArticle, language: str | None) -> Extraction:
    flags: list[str] = ["truncated"] if found.truncated else []
    if sum(map(len, found.body)) < _MIN_BODY_CHARS:
        flags.append("no_article")
    return Extraction(
        title=found.title,
        standfirst=found.standfirst,
        authors=found.authors,
        published_at=found.published_at,
        language=language,
        publisher=None,
        body=found.body,
        lines_in=found.lines_in,
        lines_removed=found.lines_removed,
        flags=flags,
    )
