"""Copies of body lines: kept once (``plaintext.without_copies``), on its own and through the extractor."""

from __future__ import annotations

from workers.cleaning import extract_article
from workers.cleaning.plaintext import without_copies

from .test_boilerplate import STORY, _page

CAPTION = "The new lanes on Harbour Road, seen from the old tram depot (Photo: City Times)"


def test_a_line_repeated_later_is_kept_once_where_it_first_appears() -> None:
    lines = [STORY[0], CAPTION, STORY[1], CAPTION, STORY[2], CAPTION]
    assert without_copies(lines, list(range(len(lines)))) == [0, 1, 2, 4]


def test_short_lines_may_repeat() -> None:
    lines = [STORY[0], "Yes.", STORY[1], "Yes.", "* * *", STORY[2], "* * *"]
    assert without_copies(lines, list(range(len(lines)))) == list(range(len(lines)))


def test_only_the_kept_lines_count_as_earlier_copies() -> None:
    lines = [CAPTION, STORY[0], CAPTION, STORY[1]]
    assert without_copies(lines, [1, 2, 3]) == [1, 2, 3]


def test_a_dump_of_the_body_in_one_line_is_dropped_and_its_paragraphs_kept() -> None:
    dump = " ".join(STORY)
    lines = [*STORY, "Share this article", dump]
    kept = [0, 1, 2, 3, 4, 6]
    assert without_copies(lines, kept) == [0, 1, 2, 3, 4]
    # wherever it stands
    assert without_copies([dump, *STORY], [0, 1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5]


def test_a_long_paragraph_that_quotes_one_shorter_line_is_kept() -> None:
    quoted = STORY[1]
    long = (f"Asked about the plan at the launch, officials repeated the mayor's words: {quoted} They added "
            "that the budget for the first phase had been approved in January, that the contractor would be "
            "chosen by tender, and that residents would be consulted on each street before work began there, "
            "with the first results expected early next year.")
    lines = [STORY[0], quoted, STORY[2], long, STORY[3]]
    assert len(long) >= 2 * sorted(map(len, lines))[2] and len(long) >= 400
    assert without_copies(lines, list(range(len(lines)))) == list(range(len(lines)))


def test_the_extractor_keeps_each_paragraph_once() -> None:
    middle = [STORY[0], CAPTION, STORY[1], STORY[2], CAPTION, STORY[3], STORY[4], " ".join(STORY)]
    result = extract_article(_page(middle), "text/plain")
    assert result.body.count(CAPTION) <= 1
    assert [line for line in result.body if line != CAPTION] == STORY
