"""The cleaning stage as a pure function: raw message bytes in, ``article.clean`` record (or a failure) out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.cleaning.extract import Extraction, extract_article
from workers.dlq import Failure, SourceMessage, run_guarded
from workers.records import SCHEMA_VERSION, decode_raw, parse_rfc3339, rfc3339, utcnow, validate


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


def clean_raw(
    raw: Mapping[str, Any],
    *,
    is_known_boilerplate: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Clean one decoded raw envelope into a validated ``article.clean`` record."""
    extraction = extract_article(
        raw["content"],
        raw["content_type"],
        url=raw.get("url"),
        fetched_at=parse_rfc3339(raw.get("fetched_at")),
        is_known_boilerplate=is_known_boilerplate,
    )
    record = build_clean_record(raw, extraction)
    validate("clean", record)
    return record


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
        raw = decode_raw(
            message.value,
            max_bytes=options.max_content_bytes,
            headers={k.lower(): v for k, v in message.headers},
        )
        return clean_raw(raw, is_known_boilerplate=is_known_boilerplate)

    outcome = run_guarded(_run)
    if isinstance(outcome, Failure) and raw is not None:
        return Failure(outcome.error, article_id=raw.get("id"))
    return outcome

