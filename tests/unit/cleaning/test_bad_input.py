"""Odd input never crashes, hangs or eats memory: empty body plus a flag instead."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from workers.cleaning import extract_article
from workers.cleaning.extract import MAX_CONTENT_CHARS

PARAGRAPH = "<p>The council voted on Tuesday to approve the new budget, which includes funding for schools.</p>"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{k} "{("&lol" + (str(k - 1) if k > 2 else "") + ";") * 10}">' for k in range(2, 10)
    )
    + "]><html><body><p>&lol9;</p></body></html>"
)


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
@pytest.mark.parametrize("content", ["", "   \n\t  "])
def test_empty_content(content: str, content_type: str) -> None:
    result = extract_article(content, content_type)
    assert result.body == []
    assert result.flags == ["empty_content"]


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_binary_junk(content_type: str) -> None:
    junk = bytes(range(256)).decode("latin-1") * 50
    result = extract_article(junk, content_type)
    assert result.body == []
    assert result.flags == ["binary_content"]


def test_oversized_content_is_refused_without_parsing() -> None:
    started = time.perf_counter()
    result = extract_article("a" * (MAX_CONTENT_CHARS + 1), "text/html")
    assert result.flags == ["too_large"]
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_ten_megabyte_page_is_bounded(content_type: str) -> None:
    if content_type == "text/html":
        content = "<html><body>" + PARAGRAPH * 105_000 + "</body></html>"
    else:
        content = ("A sentence of ordinary length that keeps going for a while, as news prose does.\n") * 130_000
    assert len(content) >= 10_000_000
    tracemalloc.start()
    started = time.perf_counter()
    result = extract_article(content, content_type)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "truncated" in result.flags
    assert elapsed < 60
    assert peak < 400_000_000


def test_single_ten_megabyte_line() -> None:
    result = extract_article("x" * 10_000_000, "text/plain")
    assert isinstance(result.body, list)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("Home\nNews\nSport\nLog in\nSubscribe\n", "text/plain"),
        ("<html><body><nav><a href='/'>Home</a> <a href='/n'>News</a></nav></body></html>", "text/html"),
    ],
)
def test_page_without_article(content: str, content_type: str) -> None:
    result = extract_article(content, content_type)
    assert result.body == []
    assert "no_article" in result.flags


def test_deeply_nested_html() -> None:
    content = "<div>" * 100_000 + PARAGRAPH + "</div>" * 100_000
    started = time.perf_counter()
    result = extract_article(content, "text/html")
    assert time.perf_counter() - started < 10
    assert isinstance(result.body, list)


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_xml_entity_expansion_is_not_performed(content_type: str) -> None:
    tracemalloc.start()
    result = extract_article(BILLION_LAUGHS, content_type)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000_000
    assert "lollollol" not in "".join(result.body)


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_non_utf8_leftovers_and_control_characters(content_type: str) -> None:
    line = "Hello \udcff world \ud800 with \x00 nul, \x1b[31m escape and \x07 bell in a sentence that is long."
    content = "\n".join([line] * 20) if content_type == "text/plain" else f"<p>{line}</p>" * 20
    result = extract_article(content, content_type)
    for paragraph in result.body:
        assert "\x00" not in paragraph
        assert "\x07" not in paragraph


def test_xml_declaration_in_decoded_html() -> None:
    content = '<?xml version="1.0" encoding="ISO-8859-1"?><html><body>' + PARAGRAPH * 5 + "</body></html>"
    result = extract_article(content, "text/html")
    assert isinstance(result.body, list)
