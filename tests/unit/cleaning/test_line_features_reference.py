"""The whole-page (vectorised) line features must equal the per-line reference definition exactly.

The speed of the plain-text track comes from computing the ~50 line features over the whole page
at once (``pagetext.page_text``, ``linemodel.line_features``) and from skipping regexes on lines
that cannot match. None of that may change a single feature value: these tests pin the fast code
to the per-line reference (``reference_features.py``) on hand-written pages and the project seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.cleaning.reference_features import (
    _COMMENT_HEAD_LOWER_RE as reference_comment_head_re,
)
from tests.unit.cleaning.reference_features import (
    _WE_LOWER_RE as reference_we_re,
)
from tests.unit.cleaning.reference_features import (
    looks_like_date_line as reference_looks_like_date_line,
)
from tests.unit.cleaning.reference_features import (
    reference_appeal_block_indices,
    reference_line_features,
    reference_line_signals,
    reference_split_lines,
)
from workers.cleaning.byline import parse_byline
from workers.cleaning.dates import looks_like_date_line
from workers.cleaning.linemodel import _DateLines, _is_comment_head, line_features
from workers.cleaning.pagetext import page_text
from workers.cleaning.plaintext import (
    _WE_LOWER_RE,
    _find_header,
    _is_cjk_text,
    _without_appeals,
    appeal_block_indices,
    split_lines,
)
from workers.cleaning.webpage import parse_html, render_lines

SEEDS = Path(__file__).resolve().parents[3] / "seeds"

NEWS_PAGE = """Skip to content
Home | News | Sport | Business | Opinion
Menu
Search
LOG IN
Sign up
Harbour authority unveils £40m plan to rebuild the old quay
A decade of delays ends as engineers begin work on the flood wall, the authority says
By Maren Holt and Idris Oyelaran, Political Correspondents
Monday 05 February 2024 13:07 GMT
Updated 2 hours ago
Share this article
Photo: Harbour Authority / Getty Images
The harbour authority approved a £40m plan on Monday to rebuild the old quay, ending a decade of delays.
Engineers will begin work on the flood wall in April, the authority said in a statement, and expect to finish by 2027.
“We have waited long enough,” said Ana Ruiz, who chairs the residents' association. “Our homes flood every winter.”
Related: Council votes to keep the ferry running
The plan, which was first proposed in 2014, was delayed by a dispute over who should pay for it.
Read more: https://www.example.co.uk/news/2024/quay
Contact the newsroom at tips@example.com or call 0117 496 0000.
We rely on readers like you. Support our journalism from just £1 a month.
Your donation helps our reporters hold power to account. Please consider a monthly contribution.
Donate now
The authority will hold a public meeting at the town hall on 12/03/2024 to explain the timetable.
SUBSCRIBE TO OUR NEWSLETTER
Enter your email address
Thank you for subscribing!
Comments (12)
Jo Bloggs says:
I think this is great news for the city, finally something is happening after all these years.
Leave a reply
Save my name, email, and website in this browser for the next time I comment.
Most read
Storm Orla: amber warning for wind
Trending now
Advertisement
© 2024 Harbour Times. All rights reserved. | Privacy policy | Terms of use | Cookie settings
We use cookies to improve your experience. Accept all cookies
"""

MULTILINGUAL_PAGE = """Inicio | Noticias | Economía
La startup Agrosensa cierra una ronda de financiación de 12 millones
Por Lucía Fernández y Jordi Puig
5 de febrero de 2024
Hace 3 horas
La empresa, fundada en 2019 en Valencia, utilizará los fondos para ampliar su red de sensores en el campo.
«Queremos llegar a 10.000 explotaciones», explicó su consejera delegada, que no quiso dar más detalles.
Suscríbete a nuestro boletín y recibe las noticias en tu correo.
Utilizamos cookies propias y de terceros. Aceptar todas las cookies
Hazte socio desde 3 € al mes y apoya nuestro periodismo independiente.
Der Artikel erschien zuerst am 5. März 2024 im Wirtschaftsteil, teilen Sie ihn auf Facebook.
Il y a 3 heures, le ministre a annoncé une réforme; partager sur Twitter.
Leggi anche: la riforma delle pensioni
Все права защищены. Это не так, как он сказал, но она согласна.
ſhare this | Kelvin scale in K units | İstanbul office | ıi
"""

CJK_PAGE = """首页 | 新闻 | 体育
研究人员发现格陵兰冰川融化速度加快
记者 王小明
2024年2月5日 13:07
科学家表示，格陵兰岛的冰川在过去十年中融化的速度比预期快得多，这将对全球海平面产生重大影响。
研究小组在报告中指出，如果不采取措施，到本世纪末海平面可能上升一米。
相关阅读
版权所有 © 2024
"""

ODD_PAGE = (
    "A\n" + "x" * 300 + "\n" + "word " * 120 + "\n1\n2024\n...\n“Quote”\n— dash\n• bullet\n"
    "CAPITALS ONLY HERE\nsubscriptions journalists independent subscribers notifications\n"
    "advertisements whitelisted paywalls adblocker ad blocker login to continue\n"
    "Support The Times from just $2 per month\n(Photo credit: AP)\nreuters / afp\n"
    "photo by Jane\n3 comments\nreport abuse\nreply\njoin the discussion\n"
    "an hour ago\nChicago\nFeb. 5, 2024, 1:07 p.m. ET\n10:48, Tue, Nov 19, 2019\n2024/02/05\n"
    "the article was originally published by Reuters\nin your inbox every morning\n"
    "By Jane Doe | Feb 5, 2024\nAuthor: Kim Lee\nwritten by Sam Ortiz\nPor Ana Gil\n"
    "to be logged in, refresh the page\nA\nA\nrepeated line\nrepeated line\nsave my name, email and site\n"
)


def _pages() -> list[tuple[str, list[str]]]:
    pages = [(name, split_lines(text)) for name, text in
             (("news", NEWS_PAGE), ("multilingual", MULTILINGUAL_PAGE), ("cjk", CJK_PAGE), ("odd", ODD_PAGE))]
    pages.append(("news-reversed", split_lines(NEWS_PAGE)[::-1]))
    pages.append(("news-upper", split_lines(NEWS_PAGE.upper())))
    for path in sorted(SEEDS.glob("*.txt")):
        pages.append((path.name, split_lines(path.read_text(encoding="utf-8"))))
    for path in sorted(SEEDS.glob("*.html")):
        root = parse_html(path.read_text(encoding="utf-8"))
        assert root is not None
        pages.append((path.name, render_lines(root).lines))
    return pages


PAGES = _pages()


def _known(line: str) -> bool:
    return len(line) % 7 == 0


@pytest.mark.parametrize(("name", "lines"), PAGES, ids=[name for name, _ in PAGES])
@pytest.mark.parametrize("known", [None, _known])
def test_features_equal_reference(name: str, lines: list[str], known: Callable[[str], bool] | None) -> None:
    text = page_text(lines)
    header = _find_header(lines, text.words.tolist(), None)
    kwargs = {
        "header_end": header.last_index(), "date_index": header.date, "byline_index": header.byline,
        "title_index": header.title, "cjk": _is_cjk_text(lines), "is_known_boilerplate": known,
    }
    fast = line_features(lines, signals=text, **kwargs)  # type: ignore[arg-type]
    reference = reference_line_features(lines, **kwargs)  # type: ignore[arg-type]
    assert fast.shape == reference.shape
    differing = np.argwhere(fast != reference)
    assert differing.shape[0] == 0, f"{name}: (line, feature) differ: {differing[:10].tolist()}"
    # Also with the header of another page's shape: a headline everywhere.
    for title in (0, len(lines) // 2):
        kwargs.update(title_index=title, header_end=title, date_index=None, byline_index=None, cjk=True)
        assert np.array_equal(line_features(lines, signals=text, **kwargs),  # type: ignore[arg-type]
                              reference_line_features(lines, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "lines"), PAGES, ids=[name for name, _ in PAGES])
def test_header_with_page_hints_equals_plain_scan(name: str, lines: list[str]) -> None:
    """Skipping date and byline parsing on lines that cannot match must find the same header."""
    text = page_text(lines)
    fetched_at = datetime(2024, 2, 5, 15, 0, tzinfo=UTC)
    for head in (lines, lines[3:], lines[::-1]):
        head_text = page_text(head)
        plain = _find_header(head, head_text.words.tolist(), fetched_at)
        hinted = _find_header(head, head_text.words.tolist(), fetched_at, _DateLines(head, head_text),
                              head_text.byline_starts)
        assert plain == hinted, name
    assert text.byline_starts is None or all(
        i in text.byline_starts for i, line in enumerate(lines) if parse_byline(line)), name


@pytest.mark.parametrize(("name", "lines"), PAGES, ids=[name for name, _ in PAGES])
def test_signals_and_appeals_equal_reference(name: str, lines: list[str]) -> None:
    text = page_text(lines)
    reference = reference_line_signals(lines)
    assert text.phrase == reference.phrase, name
    assert text.promo == reference.promo, name
    assert text.words.tolist() == [len(w) for w in reference.words], name
    assert appeal_block_indices(lines, text) == reference_appeal_block_indices(lines), name


def _check_without_appeals(lines: list[str]) -> None:
    """``_without_appeals`` keeps exactly the candidates outside the reference appeal set, whichever lines are
    candidates (all, every other one, those around the appeals, a single one)."""
    text = page_text(lines)
    appeals = reference_appeal_block_indices(lines)
    around = sorted({j for i in appeals for j in (i - 2, i - 1, i, i + 1, i + 2) if 0 <= j < len(lines)})
    for candidates in (list(range(len(lines))), list(range(0, len(lines), 2)), list(range(1, len(lines), 3)),
                       around, [len(lines) // 2]):
        assert _without_appeals(lines, text, candidates) == [i for i in candidates if i not in appeals], candidates
        assert _without_appeals(lines, None, candidates) == [i for i in candidates if i not in appeals], candidates


@pytest.mark.parametrize(("name", "lines"), PAGES, ids=[name for name, _ in PAGES])
def test_body_candidates_without_appeals_equal_the_appeal_set(name: str, lines: list[str]) -> None:
    _check_without_appeals(lines)


# Lines that are appeals, self-promotion, first-person talk (quoted or not), link labels and short unpunctuated
# lines that can be sandwiched, so that random pages of them hold strong lines, weak runs of every length and
# sandwiches.
_APPEAL_LINES = st.sampled_from([
    "Support our journalism from just £1 a month",
    "Become a member",
    "Donate now",
    "Subscribe to our newsletter for independent journalism",
    "Your donation helps our reporters and our journalism",
    "We rely on readers like you. Our journalism is funded by readers.",
    "We think our city deserves better, and we said so.",
    "“We did it,” she said about our team.",
    "He said “we” and “our” twice.",
    "We and us, “quoted” and our own words.",
    "Our subscribers get unlimited access",
    "Related: Council votes to keep the ferry running",
    "See also: the harbour plan",
    "Read more: the budget",
    "Click here",
    "Short line without stop",
    "A plain sentence about the harbour that ends with a full stop.",
    "Another ordinary paragraph of the story, long enough to be prose and to carry no appeal words at all, "
    "which is what most body lines are like.",
    "x",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_APPEAL_LINES, min_size=1, max_size=14))
def test_without_appeals_on_random_pages(lines: list[str]) -> None:
    _check_without_appeals(lines)


def test_phrase_flags_on_single_lines() -> None:
    """Each boilerplate-phrase alternative seen alone, in mixed case and mid-sentence."""
    lines = [line for _, page in PAGES for line in page]
    variants = lines + [line.title() for line in lines] + ["x " + line for line in lines]
    for line in variants:
        assert page_text([line]).phrase == reference_line_signals([line]).phrase, line


# Lines with "©" where the phrase regex can start (after a word character: its "\b") or not, lines whose
# phrase starts at a token, and plain lines; pages of them repeat lines, as the pages of a batch do.
_PHRASE_LINES = st.sampled_from([
    "© 2024 The Harbour Times", "Harbour©2024", "x© 2023 and more", "Copyright © 2023", "©Harbour 2024 ©",
    "© ©2024 x©1999", "Terms of Use © 2024", "a ©  2024 and our privacy notice", "copyright 2023, all rights reserved",
    "Privacy Policy", "privacy", "Sign up for our newsletter", "Subscribe to the daily brief", "Read more",
    "A plain sentence about the harbour that ends with a full stop.", "12 comments", "x",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_PHRASE_LINES, st.booleans()), min_size=1, max_size=12))
def test_phrase_flags_on_random_pages(chosen: list[tuple[str, bool]]) -> None:
    """Lines with "©" and lines repeated on a page are flagged as the whole regex flags them."""
    lines = [line.upper() if upper else line for line, upper in chosen]
    assert page_text(lines).phrase == reference_line_signals(lines).phrase, lines


def test_date_precheck_equals_single_regex() -> None:
    samples = [line for _, page in PAGES for line in page] + [
        "5 de febrero de 2024", "febrero 5, 2024", "3 uur geleden", "vor 2 Stunden", "há 5 minutos",
        "05.02.2024", "2024-02-05T13:07:00Z", "12 mars 2023", "5. März 2024", "2 ore fa", "Sept 3rd 2021",
        "3 dni temu", "17h30 le 4 avril 2023", "no date here at all", "Chicago", "mars 5, 2024", "x lis 12 2024",
    ]
    for sample in samples:
        assert looks_like_date_line(sample) == reference_looks_like_date_line(sample), sample
        # The whole-page hint never rules out a line the pre-check accepts.
        assert page_text([sample]).date_hint[0] or not looks_like_date_line(sample), sample
        _assert_hinted_date_line_agrees(sample)


def _assert_hinted_date_line_agrees(line: str) -> None:
    """``_DateLines`` with the page's hints (only the forms a line's tokens allow, on its lower-cased text)
    answers what the pre-check answers, and so does the pre-check without the short forms on lines the
    hints say cannot hold one."""
    text = page_text([line])
    assert _DateLines([line], text)(0) == looks_like_date_line(line), line
    if not text.short_date_hint[0]:
        assert looks_like_date_line(line, short_forms=False) == looks_like_date_line(line), line


_DATE_PARTS = st.sampled_from([
    "5", "12", "2024", "05", "3rd", "1a", "feb", "February", "Sept", "june", "de", "del", "di", "ago", "hace", "il y a",
    "vor", "há", "fa", "geleden", "temu", "mars", "março", "październik", "set", "lis", "Juni", "ore", "uur", ",", ".",
    "/", "-", ":", " ", "  ", "\t", "\u00a0", "x", "a", "_", "Σ", "İ", "٣", "١٢", "mars 5", "lis 12", " 2024", ", 2024",
])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_DATE_PARTS, max_size=12).map("".join))
def test_date_precheck_equals_single_regex_on_random_lines(line: str) -> None:
    """The pre-check's split regexes accept exactly the lines the single regex finds something in."""
    assert looks_like_date_line(line) == reference_looks_like_date_line(line), line
    if line:
        _assert_hinted_date_line_agrees(line)


_COMMENT_PARTS = st.sampled_from([
    "comments", "comment", "replies", "12", "(3)", ":", " ", "  ", "\t", "x", "says", "wrote", "leave a reply",
    "join the discussion", "post", "all", "are closed", "policy", "reply", "report abuse", "save my name, email",
    "save my name,  email", "\u00a0", "é", "-", ".",
])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_COMMENT_PARTS, max_size=8).map("".join))
def test_comment_heading_parts_equal_the_single_regex(line: str) -> None:
    """The comment-heading regex split into its anchored part and the rest finds what it found whole."""
    assert _is_comment_head(line) == (reference_comment_head_re.search(line) is not None), line


_WE_PARTS = st.sampled_from(["we", "our", "us", "w", "e", "ou", "r", "u", "s", "x", "_", "1", "é", " ", "-", "'", "“"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_WE_PARTS, max_size=12).map("".join))
def test_we_regex_finds_what_the_word_boundary_form_finds(line: str) -> None:
    assert _WE_LOWER_RE.findall(line) == reference_we_re.findall(line), line
    assert [m.span() for m in _WE_LOWER_RE.finditer(line)] == [m.span() for m in reference_we_re.finditer(line)]


@pytest.mark.parametrize("text", [
    NEWS_PAGE, "a\r\nb\rc\n\n  d  \u2028e\u2029f", "nel\x85inside\nline", "ctl\x0bx\x0cy\x1cz\x1dw\x1ev",
    "\ufeffbom\u200bzero\ufffd", "", "   \n\t\n", "\n".join(str(k) for k in range(5010)),
])
def test_split_lines_equals_reference(text: str) -> None:
    assert split_lines(text) == reference_split_lines(text)
