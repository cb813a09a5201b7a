"""The real path: embedded broker, two worker processes, seeds and malformed records through them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter

import orjson
import pytest

from tests.conftest import SEEDS, SHARED
from tests.e2e.conftest import Pipeline, decode
from workers import records
from workers.sources import read_sources

pytestmark = pytest.mark.e2e

REFERENCE = SHARED / "reference"

#: (key, value, expected DLQ error type) — each must dead-letter while the articles around it come through.
MALFORMED: list[tuple[bytes, bytes, str]] = [
    (b"bad-json", b'{"id": "bad-json", "content": "cut', "invalid_json"),
    (b"bad-utf8", b"\xff\xfe\xfa not text at all", "not_utf8"),
    (b"bad-empty", b"   ", "empty_content"),
    (b"bad-schema", b'{"id": "bad-schema", "content": 12}', "schema_invalid"),
    (b"bad-version", b'{"schema_version": 3, "content": "hello"}', "unsupported_schema_version"),
    (b"bad-huge", b"word " * 50_000, "content_too_large"),
]


def _reference_value() -> bytes:
    if not (REFERENCE / "seed-article.txt").is_file():
        raise AssertionError(f"shared reference article missing at {REFERENCE}")
    content = (REFERENCE / "seed-article.txt").read_text()
    return orjson.dumps({"id": "reference", "content_type": "text/plain", "content": content})


def test_seeds_and_malformed_records_flow_through_real_workers(pipeline: Pipeline) -> None:
    seeds = list(read_sources([str(SEEDS)]))
    good = [(s.key, s.value) for s in seeds] + [(b"reference", _reference_value())]
    # Interleave: a bad record before, between and after good ones.
    values: list[tuple[bytes | None, bytes]] = []
    for i, item in enumerate(good):
        if i < len(MALFORMED):
            values.append((MALFORMED[i][0], MALFORMED[i][1]))
        values.append(item)
    expected_ids = {k.decode() for k, _ in good if k}
    asyncio.run(pipeline.produce(values))
    pipeline.start("clean")
    pipeline.start("tag")

    settings = pipeline.settings
    got = asyncio.run(
        pipeline.collect(
            [settings.topic_enriched, settings.topic_dlq, settings.topic_entities],
            lambda g: len(g[settings.topic_enriched]) >= len(good) and len(g[settings.topic_dlq]) >= len(MALFORMED),
        )
    )

    enriched = [decode(r) for r in got[settings.topic_enriched]]
    for record in enriched:
        records.validate("enriched", record)
    for letter in map(decode, got[settings.topic_dlq]):
        records.validate("dlq", letter)
    counts = Counter(r["id"] for r in enriched)
    assert set(counts) == expected_ids
    assert all(n == 1 for n in counts.values()), f"duplicates: {counts}"
    for record in got[settings.topic_enriched]:
        assert record.key == decode(record)["id"].encode(), "records are keyed by article id"

    letters = {base64.b64decode(d["key"]): d for d in map(decode, got[settings.topic_dlq])}
    for key, value, error_type in MALFORMED:
        letter = letters[key]
        assert letter["error"]["type"] == error_type
        assert letter["stage"] == "clean"
        assert letter["source"]["topic"] == settings.topic_raw
        assert base64.b64decode(letter["value"]) == value, "the original bytes, whole"

    reference = next(r for r in enriched if r["id"] == "reference")
    expected = json.loads((REFERENCE / "seed-expected.json").read_text())
    for name in ("title", "standfirst", "authors", "published_at", "language", "body"):
        assert reference[name] == expected[name], name
    found = {(e["name"], e["label"]) for e in reference["entities"]}
    accepted = {"Indo-Pacific": {"LOC", "GPE"}, "Belt and Road Initiative": {"ORG", "EVENT", "LAW"},
                "Puglia": {"GPE", "LOC"}}
    for entity in expected["entities"]:
        labels = accepted.get(entity["name"], {entity["label"]})
        assert any((entity["name"], label) in found for label in labels), entity

    # One record per (article, entity) on articles.entities, keyed by entity (they may still be arriving).
    total_entities = sum(len(r["entities"]) for r in enriched)
    more = asyncio.run(
        pipeline.collect([settings.topic_entities], lambda g: len(g[settings.topic_entities]) >= total_entities)
    )
    entity_keys = {r.key.decode() for r in more[settings.topic_entities]}
    for entity in more[settings.topic_entities]:
        records.validate("entity", decode(entity))
    assert "PERSON:Fumio Kishida" in entity_keys
    assert len(more[settings.topic_entities]) == total_entities

    codes = pipeline.stop_all()
    assert codes == {"clean": 0, "tag": 0}, "workers exit cleanly on SIGTERM"
