"""The cleaning stage function around the extractor: records in, clean records or failures out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from workers import records
from workers.cleaning.stage import CleanOptions, clean_article
from workers.dlq import Failure

OPTIONS = CleanOptions(max_content_bytes=50_000)


def test_envelope_becomes_a_valid_clean_record(make_raw_article: Any, make_message: Any) -> None:
    out = clean_article(make_message(make_raw_article()), OPTIONS)
    assert not isinstance(out, Failure), out
    records.validate("clean", out)
    assert out["id"] == "harbour-strike"
    assert out["title"] == "Harbour workers vote to end week-long strike"
    assert out["authors"] == ["Jane Porter"]
    assert out["published_at"] == "2024-03-12T10:42:00Z"
    assert out["language"] == "en"
    assert "Accept all cookies" not in out["body"]
    assert "Share on Facebook" not in out["body"]
    assert out["body"][0].startswith("Dock workers in Portsmouth")
    assert out["stats"]["chars_in"] == len(make_raw_article()["content"])
    assert out["stats"]["chars_out"] == sum(len(p) for p in out["body"])


def test_bare_text_value_is_cleaned(make_raw_article: Any, make_message: Any) -> None:
    out = clean_article(make_message(make_raw_article()["content"].encode()), OPTIONS)
    assert not isinstance(out, Failure)
    assert out["id"].startswith("c-")
    assert out["url"] is None


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"", "empty_content"),
        (b'{"content": ', "invalid_json"),
        (b'{"content": ["not", "text"]}', "schema_invalid"),
        (b"\xc3\x28 broken utf-8", "not_utf8"),
        (b"z" * 60_000, "content_too_large"),
        (b'{"schema_version": 99, "content": "x"}', "unsupported_schema_version"),
    ],
)
def test_bad_input_is_a_failure_not_an_exception(make_message: Any, value: bytes, code: str) -> None:
    out = clean_article(make_message(value), OPTIONS)
    assert isinstance(out, Failure)
    assert out.error.code == code


def test_failure_after_decoding_keeps_the_article_id(
    make_raw_article: Any, make_message: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr("workers.cleaning.stage.extract_article", explode)
    out = clean_article(make_message(orjson.dumps(make_raw_article())), OPTIONS)
    assert isinstance(out, Failure)
    assert out.error.code == "stage_exception"
    assert out.article_id == "harbour-strike"
