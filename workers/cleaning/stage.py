"""The cleaning stage as a pure function: raw message bytes in, ``article.clean`` record (or a failure) out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from workers.cleaning.extract import ArticleInput, Extraction, extract_article, extract_articles
from workers.dlq import Failure, SourceMessage, run_guarded
from workers.records import SCHEMA_VERSION, decode_raw, parse_rfc3339, rfc3339, utcnow, validate

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CleanOptions:
    """Knobs of the cleaning stage (taken from the settings object)."""

    max_content_bytes: int = 2_000_000


def build_clean_record(raw: Mapping[str, Any], extraction: Extraction) -> dict[str, Any]:
    """Assemble the ``article.clean`` record from the raw envelope and what extraction found."""
    content: str = raw["content"]
    body = [p for p in extraction.body if p.strip()]
    return {
        "schema_version": SCHEMA_VERSION,
        "id": raw["id"],
        "url": raw.get("url"),
        "source": raw.get("source") or extraction.publisher,
        "content_type": raw["content_type"],
        "language": extraction.language,
        "title": extraction.title,
        "standfirst": extraction.standfirst,
        "authors": list(extraction.authors),
        "published_at": rfc3339(extraction.published_at) if extraction.published_at else None,
        "fetched_at": raw.get("fetched_at"),
        "body": body,
        "stats": {
            "chars_in": len(content),
            "chars_out": sum(len(p) for p in body),
            "lines_in": extraction.lines_in,
            "lines_removed": extraction.lines_removed,
        },
        "flags": list(extraction.flags),
        "cleaned_at": rfc3339(utcnow()),
    }


def _article_input(raw: Mapping[str, Any], is_known_boilerplate: Callable[[str], bool] | None) -> ArticleInput:
    return ArticleInput(
        raw["content"],
        raw["content_type"],
        url=raw.get("url"),
        fetched_at=parse_rfc3339(raw.get("fetched_at")),
        is_known_boilerplate=is_known_boilerplate,
    )


def _validated_record(raw: Mapping[str, Any], extraction: Extraction) -> dict[str, Any]:
    record = build_clean_record(raw, extraction)
    validate("clean", record)
    return record


def clean_raw(
    raw: Mapping[str, Any],
    *,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Clean one decoded raw envelope into a validated ``article.clean`` record."""
    given = _article_input(raw, is_known_boilerplate)
    extraction = extract_article(given.content, given.content_type, url=given.url, fetched_at=given.fetched_at,
                                 is_known_boilerplate=is_known_boilerplate)
    return _validated_record(raw, extraction)


def _decode(message: SourceMessage, options: CleanOptions) -> dict[str, Any]:
    return decode_raw(
        message.value,
        max_bytes=options.max_content_bytes,
        headers={k.lower(): v for k, v in message.headers},
    )


def clean_article(
    message: SourceMessage,
    options: CleanOptions,
    *,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> dict[str, Any] | Failure:
    """Decode, validate and clean one message from ``articles.raw``.

    Returns the clean record, or a :class:`Failure` (never raises) saying why the message cannot be cleaned.
    """
    raw: dict[str, Any] | None = None

    def _run() -> dict[str, Any]:
        nonlocal raw
        raw = _decode(message, options)
        return clean_raw(raw, is_known_boilerplate=is_known_boilerplate)

    outcome = run_guarded(_run)
    if isinstance(outcome, Failure) and raw is not None:
        return Failure(outcome.error, article_id=raw.get("id"))
    return outcome



def clean_articles(
    messages: Sequence[SourceMessage],
    options: CleanOptions,
    *,
    is_known_boilerplate: Sequence[Callable[[str], bool] | None] | None = None,
) -> list[dict[str, Any] | Failure]:
    """``clean_article`` of every message (``is_known_boilerplate[k]`` is message ``k``'s check), with the
    extraction of all decoded envelopes done as one batch (``extract_articles``): same records, less overhead.

    Never raises: a message that cannot be decoded or cleaned gives its :class:`Failure`; should the batch
    extraction itself fail, the messages are cleaned one by one so that one bad page cannot fail the others.
    """
    checks = list(is_known_boilerplate) if is_known_boilerplate is not None else [None] * len(messages)
    outcomes: list[dict[str, Any] | Failure] = []
    inputs: dict[int, tuple[dict[str, Any], ArticleInput]] = {}
    for k, (message, check) in enumerate(zip(messages, checks, strict=True)):
        decoded = run_guarded(partial(_decode, message, options))
        if isinstance(decoded, Failure):
            outcomes.append(decoded)
            continue
        prepared = run_guarded(partial(_article_input, decoded, check))
        if isinstance(prepared, Failure):
            outcomes.append(Failure(prepared.error, article_id=decoded.get("id")))
            continue
        inputs[k] = (decoded, prepared)
        outcomes.append(decoded)  # replaced by its clean record below
    extracted = run_guarded(partial(extract_articles, [given for _, given in inputs.values()]))
    if isinstance(extracted, Failure):
        logger.warning("batch extraction failed (%s); cleaning the batch one message at a time", extracted.error)
        return [clean_article(m, options, is_known_boilerplate=c) for m, c in zip(messages, checks, strict=True)]
    for (k, (raw, _)), extraction in zip(inputs.items(), extracted, strict=True):
        outcome = run_guarded(partial(_validated_record, raw, extraction))
        outcomes[k] = Failure(outcome.error, article_id=raw.get("id")) if isinstance(outcome, Failure) else outcome
    return outcomes
