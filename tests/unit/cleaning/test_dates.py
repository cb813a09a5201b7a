"""Publication dates in the formats news sites print them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workers.cleaning.dates import looks_like_date_line, parse_date_text, parse_iso_datetime

FETCHED = datetime(2024, 2, 5, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monday 05 February 2024 13:07 GMT", datetime(2024, 2, 5, 13, 7, tzinfo=UTC)),
        ("Feb. 5, 2024, 1:07 p.m. ET", datetime(2024, 2, 5, 18, 7, tzinfo=UTC)),
        ("July 4, 2023 9:30 a.m. EDT", datetime(2023, 7, 4, 13, 30, tzinfo=UTC)),
        ("PUBLISHED: 10:48, Tue, Nov 19, 2019 | UPDATED: 11:05, Tue, Nov 19, 2019",
         datetime(2019, 11, 19, 10, 48, tzinfo=UTC)),
        ("2024-02-05T13:07:00Z", datetime(2024, 2, 5, 13, 7, tzinfo=UTC)),
        ("2024-02-05T14:07:00+01:00", datetime(2024, 2, 5, 13, 7, tzinfo=UTC)),
        ("Posted 12th March 2022", datetime(2022, 3, 12, tzinfo=UTC)),
        ("Updated 1 June 2021 16:00 BST", datetime(2021, 6, 1, 15, 0, tzinfo=UTC)),
        ("2020/01/31", datetime(2020, 1, 31, tzinfo=UTC)),
    ],
)
def test_printed_dates_parse_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_date_text(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 hours ago", datetime(2024, 2, 5, 13, 0, tzinfo=UTC)),
        ("Updated an hour ago", datetime(2024, 2, 5, 14, 0, tzinfo=UTC)),
        ("3 days ago", datetime(2024, 2, 2, 15, 0, tzinfo=UTC)),
        ("45 mins ago", datetime(2024, 2, 5, 14, 15, tzinfo=UTC)),
    ],
)
def test_relative_dates_use_fetched_at(text: str, expected: datetime) -> None:
    assert parse_date_text(text, fetched_at=FETCHED) == expected


def test_relative_date_without_fetched_at_is_unknown() -> None:
    assert parse_date_text("2 hours ago") is None


@pytest.mark.parametrize("text", ["", "no date here", "Call 555-1234", "Chapter 13:07 of the book"])
def test_non_dates_are_none(text: str) -> None:
    assert parse_date_text(text) is None


def test_iso_without_zone_is_taken_as_utc() -> None:
    assert parse_iso_datetime("2019-11-19 10:48:00") == datetime(2019, 11, 19, 10, 48, tzinfo=UTC)
    assert parse_iso_datetime("not a date") is None


def test_date_line_precheck() -> None:
    assert looks_like_date_line("Monday 05 February 2024 13:07 GMT")
    assert not looks_like_date_line("The council met on a rainy day.")
