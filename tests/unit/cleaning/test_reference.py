"""The seed reference article must come out exactly as seed-expected.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workers.cleaning import extract_article

REFERENCE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "reference"


def _reference_file(name: str) -> Path:
    path = REFERENCE_DIR / name
    if not path.is_file():
        pytest.fail(f"reference file missing: {path} (expected ../shared/reference next to the repo)")
    return path


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_reference_file("seed-expected.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def seed_text() -> str:
    return _reference_file("seed-article.txt").read_text(encoding="utf-8")


def test_seed_fields_are_exact(seed_text: str, expected: dict[str, Any]) -> None:
    result = extract_article(seed_text, expected["content_type"])
    assert result.title == expected["title"]
    assert result.standfirst == expected["standfirst"]
    assert result.authors == expected["authors"]
    assert result.published_at is not None
    assert result.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") == expected["published_at"]
    assert result.published_at.utcoffset() is not None
    assert result.language == expected["language"]


def test_seed_body_is_exact_and_free_of_boilerplate(seed_text: str, expected: dict[str, Any]) -> None:
    result = extract_article(seed_text, expected["content_type"])
    assert result.body == expected["body"]
    joined = "\n".join(result.body)
    for line in expected["boilerplate"]:
        assert line not in joined
    assert result.flags == []
    assert result.lines_removed == result.lines_in - len(expected["body"])
