"""Header detection beyond English: dates, bylines, boilerplate phrases; and the fast language walk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workers.cleaning.boilerplate import BOILERPLATE_PHRASE_RE, LINK_LABEL_RE
from workers.cleaning.byline import parse_byline
from workers.cleaning.dates import looks_like_date_line, parse_date_text
from workers.cleaning.language import _classify, _load_identifier, detect_language

FETCHED = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 de junio de 2023 - 08:05 CEST", "2023-06-03T06:05:00+00:00"),
        ("12. März 2024, 17:30 Uhr", "2024-03-12T17:30:00+00:00"),
        ("le 7 février 2024 à 14h05", "2024-02-07T14:05:00+00:00"),
        ("9 ottobre 2022", "2022-10-09T00:00:00+00:00"),
        ("hace 3 horas", "2024-05-15T09:00:00+00:00"),
        ("vor 2 Tagen", "2024-05-13T12:00:00+00:00"),
    ],
)
def test_dates_in_other_languages(text: str, expected: str) -> None:
    assert looks_like_date_line(text)
    moment = parse_date_text(text, fetched_at=FETCHED)
    assert moment is not None
    assert moment.isoformat() == expected


def test_foreign_month_words_need_a_full_date() -> None:
    assert not looks_like_date_line("They set 5 records out of 10")
    assert parse_date_text("They set 5 records out of 10") is None


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("Por Marta Gil y Andrés Ñúñez", ["Marta Gil", "Andrés Ñúñez"]),
        ("Par Élodie Martin et Paul Henry", ["Élodie Martin", "Paul Henry"]),
        ("Von Jörg Weber, Redakteur", ["Jörg Weber"]),
        ("By Jane E. Doe and John I. Roe", ["Jane E. Doe", "John I. Roe"]),
    ],
)
def test_bylines_in_other_languages(line: str, names: list[str]) -> None:
    assert parse_byline(line) == names


def test_prose_starting_with_por_is_no_byline() -> None:
    assert parse_byline("Por la tarde el viento amainó en toda la costa.") is None


@pytest.mark.parametrize(
    "line",
    [
        "Usamos cookies propias para analizar el tráfico.",
        "Compartir en WhatsApp",
        "© 2023 Diario Ejemplo. Todos los derechos reservados.",
        "Abonnez-vous à notre newsletter",
        "Get the best stories in your inbox.",
        "Please consider a monthly contribution.",
    ],
)
def test_boilerplate_phrases_in_several_languages(line: str) -> None:
    assert BOILERPLATE_PHRASE_RE.search(line)


def test_link_labels() -> None:
    assert LINK_LABEL_RE.match("Related: Another story about rivers")
    assert LINK_LABEL_RE.match("Lee también: Otra noticia")
    assert not LINK_LABEL_RE.match("Related research suggests the opposite.")


@pytest.mark.parametrize(
    "text",
    [
        "The harbour workers voted on Tuesday to end the strike after a week of talks with the operator.",
        "Los trabajadores del puerto votaron el martes poner fin a la huelga tras una semana de negociaciones.",
        "Die Hafenarbeiter stimmten am Dienstag dafür, den Streik nach einer Woche Verhandlungen zu beenden.",
        "東京の港湾労働者は火曜日、一週間の交渉の末にストライキを終えることを決めた。",
    ],
)
def test_vectorised_language_walk_matches_py3langid(text: str) -> None:
    identifier = _load_identifier()
    assert _classify(identifier, text) == identifier.classify(text)[0]
    assert detect_language(text) == identifier.classify(text)[0]
