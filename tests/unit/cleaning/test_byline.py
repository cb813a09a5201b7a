"""Bylines: names without "By" and without roles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.cleaning.byline import _TRAILING_JUNK_RE, _without_trailing_junk, looks_like_person_name, parse_byline


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("By Jane Doe", ["Jane Doe"]),
        ("BY JANE DOE", ["Jane Doe"]),
        ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("By Jane Doe, Senior Political Correspondent", ["Jane Doe"]),
        ("By Ana de la Cruz | Staff Writer", ["Ana de la Cruz"]),
        ("Written by Tom O'Neill", ["Tom O'Neill"]),
        ("Author: Priya Natarajan", ["Priya Natarajan"]),
        ("By Jane Doe, Associated Press", ["Jane Doe"]),
    ],
)
def test_bylines_give_clean_names(line: str, names: list[str]) -> None:
    assert parse_byline(line) == names


def test_bare_name_only_when_asked() -> None:
    assert parse_byline("Mari Yamaguchi") is None
    assert parse_byline("Mari Yamaguchi", bare=True) == ["Mari Yamaguchi"]


@pytest.mark.parametrize(
    "line",
    ["By the end of the year, prices rose.", "Home News Sport", "By 2030 the plan will be finished", ""],
)
def test_non_bylines(line: str) -> None:
    assert parse_byline(line) is None


def test_person_name_shape() -> None:
    assert looks_like_person_name("Giorgia Meloni")
    assert not looks_like_person_name("Staff Reporter")
    assert not looks_like_person_name("Top 10 stories")


# Pieces of trailing junk (and near misses), in every case, with the characters IGNORECASE folds onto ASCII letters.
_JUNK_PARTS = st.sampled_from([
    "Jane", "Doe", " ", "(", ")", "@", "@x", "on", "On", "ON", "Monday", "MONDAY", "day", "updated", "UPDATED",
    "Updated", "published", "PUBLISHED", "publiſhed", "publİshed", "publıshed", "\u212a", "é", ",", ".", "x", "1",
])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_JUNK_PARTS, max_size=10).map("".join))
def test_trailing_junk_removal_equals_the_regex(part: str) -> None:
    assert _without_trailing_junk(part) == _TRAILING_JUNK_RE.sub("", part), part
