"""The tagging stage around the entity code, with a small rule-based pipeline instead of the full model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import spacy
from spacy.language import Language

from workers import records
from workers.dlq import Failure
from workers.tagging import stage
from workers.tagging.entities import ArticleText
from workers.tagging.stage import LANGUAGE_FLAG, ModelInfo, entity_records, tag_records

MODEL = ModelInfo(name="blank-ruler", version="0", spacy=spacy.__version__)


@pytest.fixture(scope="module")
def nlp() -> Language:
    pipeline = spacy.blank("en")
    ruler = pipeline.add_pipe("entity_ruler")
    ruler.add_patterns(  # type: ignore[attr-defined]
        [
            {"label": "PERSON", "pattern": "Sam Okafor"},
            {"label": "PERSON", "pattern": "Okafor"},
            {"label": "GPE", "pattern": "Portsmouth"},
        ]
    )
    return pipeline


def _clean(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": 1,
        "id": "a1",
        "url": None,
        "source": None,
        "content_type": "text/plain",
        "language": "en",
        "title": "Strike ends in Portsmouth",
        "standfirst": None,
        "authors": [],
        "published_at": None,
        "fetched_at": None,
        "body": ["Sam Okafor spoke in Portsmouth.", "Okafor said the deal was fair."],
        "stats": {"chars_in": 10, "chars_out": 10, "lines_in": 2, "lines_removed": 0},
        "flags": [],
        "cleaned_at": "2024-01-01T00:00:00Z",
    }
    record.update(overrides)
    return record


def test_records_are_enriched_and_entities_merged(nlp: Language) -> None:
    (out,) = tag_records(nlp, [_clean()], MODEL)
    assert not isinstance(out, Failure)
    records.validate("enriched", out)
    people = [e for e in out["entities"] if e["label"] == "PERSON"]
    assert [(p["name"], p["count"]) for p in people] == [("Sam Okafor", 2)]
    place = next(e for e in out["entities"] if e["name"] == "Portsmouth")
    assert {m["section"] for m in place["mentions"]} == {"title", "body"}
    for entity in entity_records(out):
        records.validate("entity", entity)


def test_other_languages_get_no_guessed_entities(nlp: Language) -> None:
    spanish = _clean(id="es1", language="es", body=["Sam Okafor habló en Portsmouth."])
    out = tag_records(nlp, [_clean(), spanish], MODEL)
    assert not isinstance(out[0], Failure) and not isinstance(out[1], Failure)
    assert out[0]["entities"]
    assert out[1]["entities"] == []
    assert LANGUAGE_FLAG in out[1]["flags"]
    assert LANGUAGE_FLAG not in out[0]["flags"]


def test_a_record_that_breaks_the_batch_is_isolated(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    real = stage.find_spans

    def fragile(model: Language, articles: Sequence[ArticleText], *, batch_size: int = 64) -> Any:
        if any("poison" in " ".join(a.body) for a in articles):
            raise RuntimeError("model blew up")
        return real(model, articles, batch_size=batch_size)

    monkeypatch.setattr(stage, "find_spans", fragile)
    batch = [_clean(id="ok1"), _clean(id="bad", body=["poison pill"]), _clean(id="ok2")]
    out = tag_records(nlp, batch, MODEL)
    assert [isinstance(o, Failure) for o in out] == [False, True, False]
    failure = out[1]
    assert isinstance(failure, Failure)
    assert failure.article_id == "bad"
    assert failure.error.code == "stage_exception"
