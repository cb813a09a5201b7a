"""Raw-value decoding, sniffing, ids and schema validation (pure; no broker, no model)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from workers import records
from workers.errors import (
    ContentTooLargeError,
    EmptyContentError,
    InvalidJsonError,
    NotUtf8Error,
    SchemaError,
    UnsupportedVersionError,
)

LIMIT = 100_000


def test_envelope_is_validated_and_completed(make_raw_article: Any) -> None:
    raw = make_raw_article()
    raw.pop("id")
    out = records.decode_raw(orjson.dumps(raw), max_bytes=LIMIT)
    assert out["id"] == records.article_id_for(raw["url"], raw["content"])
    assert out["id"].startswith("u-")
    assert out["content_type"] == "text/plain"
    records.validate("raw", out)


def test_bare_text_is_wrapped_with_content_hash_id() -> None:
    out = records.decode_raw(b"Ministers met on Monday.\nThey agreed.", max_bytes=LIMIT)
    assert out["content_type"] == "text/plain"
    assert out["id"].startswith("c-")
    assert out["url"] is None
    assert out["content"] == "Ministers met on Monday.\nThey agreed."


@pytest.mark.parametrize(
    "value",
    [
        b"<!DOCTYPE html><html><body><p>x</p></body></html>",
        b"  <html lang='en'><p>x</p></html>",
        b"<p>a</p><p>b</p><div>c</div>",
    ],
)
def test_bare_html_is_sniffed(value: bytes) -> None:
    assert records.decode_raw(value, max_bytes=LIMIT)["content_type"] == "text/html"


def test_header_content_type_wins_over_sniffing() -> None:
    out = records.decode_raw(b"plain words", max_bytes=LIMIT, headers={"content-type": b"text/html"})
    assert out["content_type"] == "text/html"


def test_same_url_gives_same_id_regardless_of_fragment_and_case() -> None:
    a = records.article_id_for("https://Example.org/a/#comments", "x")
    assert a == records.article_id_for("https://example.org/a", "y")
    assert a != records.article_id_for("https://example.org/b", "x")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, EmptyContentError),
        (b"   \n ", EmptyContentError),
        (b'{"content": "cut sho', InvalidJsonError),
        (b'{"content": 42}', SchemaError),
        (b'{"content": "x", "content_type": "application/pdf"}', SchemaError),
        (b'{"content": "   "}', EmptyContentError),
        (b'{"schema_version": 7, "content": "x"}', UnsupportedVersionError),
        (b"\xff\xfe\x00garbage", NotUtf8Error),
        (b"text with a \x00 NUL", NotUtf8Error),
        (b"x" * (LIMIT + 1), ContentTooLargeError),
    ],
)
def test_bad_values_raise_typed_errors(value: bytes | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        records.decode_raw(value, max_bytes=LIMIT)


def test_json_array_claiming_json_is_rejected() -> None:
    with pytest.raises(InvalidJsonError, match="expected a JSON object"):
        records.decode_raw(b"[1, 2]", max_bytes=LIMIT, headers={"content-type": b"application/json"})


def test_schema_error_names_the_rule() -> None:
    with pytest.raises(SchemaError, match=r"article\.raw\.v1"):
        records.validate("raw", {"content": 1})


def test_rfc3339_round_trip_is_utc() -> None:
    moment = records.parse_rfc3339("2024-02-05T14:07:00+01:00")
    assert moment is not None
    assert records.rfc3339(moment) == "2024-02-05T13:07:00Z"
    assert records.parse_rfc3339("not a date") is None


def test_naive_datetimes_are_refused() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="naive"):
        records.rfc3339(datetime(2024, 1, 1))  # noqa: DTZ001 - the point of the test


def test_decode_versioned_rejects_unknown_versions() -> None:
    with pytest.raises(UnsupportedVersionError):
        records.decode_versioned("clean", b'{"schema_version": 2}')
