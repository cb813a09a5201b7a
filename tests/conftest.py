"""Shared fixtures: repository paths and factories for records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from workers.dlq import SourceMessage

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"

ARTICLE_TEXT = (
    "Harbour workers vote to end week-long strike\n"
    "The deal raises pay by 6% and restores weekend rotas\n"
    "By Jane Porter\n"
    "Tuesday 12 March 2024 10:42 GMT\n"
    "Accept all cookies\n"
    "Dock workers in Portsmouth voted on Tuesday to end a strike that had halted freight for a week, "
    "after the port operator improved its offer.\n"
    "“We have won what we came for,” said union organiser Sam Okafor, speaking outside the gates.\n"
    "The operator, Solent Harbour Group, said ships would be unloaded again from Wednesday morning.\n"
    "Share on Facebook\n"
)


@pytest.fixture
def make_raw_article() -> Callable[..., dict[str, Any]]:
    """Factory for raw envelopes: ``make_raw_article(content=..., url=...)``."""

    def factory(**overrides: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "schema_version": 1,
            "id": "harbour-strike",
            "url": "https://news.example.org/harbour-strike",
            "source": "Example News",
            "fetched_at": "2024-03-12T11:00:00Z",
            "content_type": "text/plain",
            "content": ARTICLE_TEXT,
        }
        record.update(overrides)
        return record

    return factory


@pytest.fixture
def make_message() -> Callable[..., SourceMessage]:
    """Factory for source messages: ``make_message(value=b'...', offset=3)`` (dict values are JSON-encoded)."""

    def factory(value: Any = None, **overrides: Any) -> SourceMessage:
        if isinstance(value, dict):
            value = orjson.dumps(value)
        fields: dict[str, Any] = {
            "topic": "articles.raw",
            "partition": 0,
            "offset": 0,
            "key": b"k",
            "value": value,
            "headers": (),
        }
        fields.update(overrides)
        return SourceMessage(**fields)

    return factory
