"""Golden tests: every seed, through the cleaning stage code, gives the output checked in beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEEDS
from workers.cleaning.stage import CleanOptions, clean_article
from workers.dlq import Failure, SourceMessage
from workers.sources import read_sources

EXPECTED = sorted(SEEDS.glob("*.expected.json"))
FIELDS = ("title", "standfirst", "authors", "published_at", "language", "body")


def _article_for(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.json")
    (path,) = [p for p in SEEDS.glob(f"{stem}.*") if not p.name.endswith(".json")]
    return path


def test_there_are_enough_seeds() -> None:
    kinds = {_article_for(e).suffix for e in EXPECTED}
    assert len(EXPECTED) >= 8
    assert kinds == {".txt", ".html"}


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.removesuffix(".expected.json"))
def test_seed_cleans_to_its_expected_output(expected_path: Path) -> None:
    expected: dict[str, Any] = json.loads(expected_path.read_text())
    (source,) = read_sources([str(_article_for(expected_path))])
    message = SourceMessage(topic="seeds", partition=0, offset=0, key=source.key, value=source.value)
    out = clean_article(message, CleanOptions())
    assert not isinstance(out, Failure), out
    assert out["content_type"] == expected["content_type"]
    for name in FIELDS:
        assert out[name] == expected[name], f"{expected_path.name}: {name}"
    kept = "\n".join(out["body"])
    for line in expected["boilerplate"]:
        assert line not in out["body"], f"boilerplate kept: {line!r}"
        assert line not in (out["title"], out["standfirst"]), f"boilerplate as title/standfirst: {line!r}"
    assert kept
