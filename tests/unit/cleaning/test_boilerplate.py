"""Boilerplate classification on hand-written pages (no eval pages)."""

from __future__ import annotations

import re

import pytest

from workers.cleaning import extract_article, line_fingerprint
from workers.cleaning.boilerplate import SELF_PROMO_ALTERNATIVES, SELF_PROMO_LOWER_RE, SELF_PROMO_RE, by_first_letter
from workers.cleaning.plaintext import appeal_block_indices

STORY = [
    "The city council approved a new cycling plan on Tuesday, promising 40 kilometres of protected lanes by 2027.",
    "Mayor Ana Ruiz said the network would connect every school in the city to a safe route.",
    "“We have waited long enough for this,” said Tomas Berg, who chairs the local cyclists' association.",
    "Opponents argued that removing parking spaces would hurt shops along the main road.",
    "The council will publish a detailed timetable for the first phase in the spring.",
]


def _page(middle: list[str]) -> str:
    head = [
        "Home", "News", "Sport", "Weather", "Log in", "Subscribe",
        "City approves cycling plan after long debate",
        "By Karin Holm",
        "Tuesday 6 February 2024 09:15 GMT",
    ]
    tail = [
        "Related articles", "Bus fares to rise in March", "New bridge opens to traffic",
        "Sign up to our daily newsletter", "© 2024 City Times. All rights reserved.", "Privacy policy",
    ]
    return "\n".join(head + middle + tail)


def test_navigation_related_and_legal_lines_are_dropped() -> None:
    result = extract_article(_page(STORY), "text/plain")
    assert result.body == STORY
    assert result.title == "City approves cycling plan after long debate"
    assert result.authors == ["Karin Holm"]
    assert result.lines_removed == result.lines_in - len(STORY)


def test_donation_appeal_block_is_dropped_but_quotes_with_we_are_kept() -> None:
    appeal = [
        "Your support helps us to tell the story",
        "Our journalism is free to read because readers like you fund our reporters with donations.",
        "Your support makes all the difference.",
    ]
    result = extract_article(_page(STORY[:2] + appeal + STORY[2:]), "text/plain")
    assert result.body == STORY


def test_appeal_blocks_spread_only_to_self_promoting_neighbours() -> None:
    lines = [
        "Please donate to support independent journalism.",
        "We rely on our readers and we need you now more than ever.",
        "The bridge will close for repairs next week.",
    ]
    assert appeal_block_indices(lines) == {0, 1}


def test_known_boilerplate_callback_removes_lines() -> None:
    banner = "Download the City Times app for breaking alerts on your phone today, it is really good."
    text = _page([*STORY[:2], banner, *STORY[2:]])
    result = extract_article(text, "text/plain", is_known_boilerplate=lambda line: line == banner)
    assert banner not in result.body


def test_line_fingerprint_normalises_case_digits_and_space() -> None:
    assert line_fingerprint("Updated  10:48 GMT") == line_fingerprint("updated 11:05 gmt")
    assert line_fingerprint("  A  b ") == "a b"
    assert line_fingerprint("Story one") != line_fingerprint("Story two")


_PROMO_TEXTS = [
    "Support independent journalism: a monthly contribution from readers like you funds our reporting.",
    "Journalisme, journalismus, giornalismo y periodismo: suscriptores, suscripción, abonnés, abonnement.",
    "Funded by its readers and by our readers; one-off contribution or every contribution, donate now.",
    "journalisms journalistsx donation donations donaciones socio socios reporters newsroom paywall paywalls",
    "news outlets independent  news quality\tnews muro de pago — a contribution, small contribution",
    "ſubscribers SUBSCRIPTIONS Membership İndependent news donaciónes periodistas jornalismo abonnenten",
]


def test_self_promo_regex_grouped_by_first_letter_finds_what_the_plain_alternation_finds() -> None:
    """Grouping the alternatives by their first letter keeps every match (``findall`` counts them)."""
    plain = "|".join(SELF_PROMO_ALTERNATIVES)
    for flags, regex in ((re.IGNORECASE, SELF_PROMO_RE), (0, SELF_PROMO_LOWER_RE)):
        reference = re.compile(rf"\b(?:{plain})\b", flags)
        for text in _PROMO_TEXTS + [t.lower() for t in _PROMO_TEXTS] + [t.upper() for t in _PROMO_TEXTS]:
            assert [m.span() for m in regex.finditer(text)] == [m.span() for m in reference.finditer(text)], text
    with pytest.raises(ValueError):
        by_first_letter(["s?ocial"])
    with pytest.raises(ValueError):
        by_first_letter([r"\bword"])
