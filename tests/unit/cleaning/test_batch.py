"""The batch entry points (``extract_articles``, ``clean_articles`` and the batched features, scores and
language detection under them) give exactly what the one-page functions give, page by page."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest

from tests.conftest import SEEDS
from workers.cleaning import pagetext, plaintext
from workers.cleaning.extract import ArticleInput, extract_article, extract_articles
from workers.cleaning.language import detect_language, detect_languages
from workers.cleaning.line_weights import LAYER1_WEIGHTS, LAYER2_WEIGHTS
from workers.cleaning.linemodel import score_batch, score_lines
from workers.cleaning.plaintext import TextPage, analyse_page, analyse_pages, split_lines
from workers.cleaning.stage import CleanOptions, clean_article, clean_articles
from workers.dlq import Failure, SourceMessage

FETCHED = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


def _seed_texts() -> list[tuple[str, str]]:
    return [(path.read_text(), "text/html" if path.suffix == ".html" else "text/plain")
            for path in sorted(SEEDS.iterdir()) if path.suffix in (".txt", ".html")]


def _synthetic_pages() -> list[str]:
    """Seed pages cut, shuffled, shouted and re-spaced: other line mixes than the seeds themselves."""
    rng = random.Random(3)
    pages = []
    for text, kind in _seed_texts():
        if kind != "text/plain":
            continue
        lines = text.splitlines()
        shuffled = lines[:]
        rng.shuffle(shuffled)
        pages += ["\n".join(lines[: len(lines) // 2]), "\n".join(lines[len(lines) // 3:]), "\n".join(shuffled),
                  text.upper(), text.replace("\n", "\r\n\u2028"), text.replace("i", "\u0130", 3)]
    return pages


def _known(line: str) -> bool:
    return len(line) % 5 == 0


def _same(batch: list[Any], single: list[Any]) -> None:
    assert len(batch) == len(single)
    for got, expected in zip(batch, single, strict=True):
        assert got == expected


def test_empty_batch() -> None:
    assert extract_articles([]) == []
    assert analyse_pages([]) == []
    assert detect_languages([]) == []
    assert clean_articles([], CleanOptions()) == []


def test_batch_equals_single_pages_on_the_seeds() -> None:
    inputs = [ArticleInput(text, kind, fetched_at=FETCHED) for text, kind in _seed_texts()]
    _same(extract_articles(inputs), [extract_article(i.content, i.content_type, fetched_at=FETCHED) for i in inputs])


@pytest.mark.parametrize("known", [None, _known])
def test_batch_equals_single_pages_on_synthetic_pages(known: Callable[[str], bool] | None) -> None:
    pages = _synthetic_pages()
    inputs = [ArticleInput(text, "text/plain", is_known_boilerplate=known) for text in pages]
    _same(extract_articles(inputs), [extract_article(text, "text/plain", is_known_boilerplate=known) for text in pages])


def test_small_batches_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = _synthetic_pages()
    whole = extract_articles([ArticleInput(text, "text/plain") for text in pages])
    monkeypatch.setattr(plaintext, "BATCH_CHARS", 3000)  # most pages alone, a few pairs
    _same(extract_articles([ArticleInput(text, "text/plain") for text in pages]), whole)


def test_batch_mixing_bad_and_good_pages() -> None:
    good = [text for text, kind in _seed_texts() if kind == "text/plain"]
    bad = ["", "   \n ", bytes(range(256)).decode("latin-1") * 50, "x" * 13_000_000, "ab\n" * 1_000_000,
           "word " * 200_000, "One line", "<html><body><p>Not plain</p></body></html>"]
    inputs = [ArticleInput(text, "text/html" if text.startswith("<html") else "text/plain")
              for pair in zip(good, bad, strict=False) for text in pair] + [
        ArticleInput(text, "text/plain") for text in bad[len(good):]]
    batch = extract_articles(inputs)
    _same(batch, [extract_article(i.content, i.content_type) for i in inputs])
    flags = {tuple(found.flags) for found in batch}
    assert {("empty_content",), ("binary_content",), ("too_large",), ("truncated", "no_article")} <= flags


def test_batch_scores_and_features_equal_single_pages() -> None:
    pages = [TextPage(text) for text in _synthetic_pages()] + [TextPage("")]
    analysed = analyse_pages(pages)
    for page, source in zip(analysed, pages, strict=True):
        alone = analyse_page(source.text)
        assert np.array_equal(page.features, alone.features)
        assert page.header == alone.header
    features = np.vstack([page.features for page in analysed])
    bounds = np.cumsum([0] + [len(page.lines) for page in analysed]).tolist()
    scores = score_batch(features, bounds, LAYER1_WEIGHTS, LAYER2_WEIGHTS)
    for page, lo, hi in zip(analysed, bounds, bounds[1:], strict=False):
        assert np.array_equal(scores[lo:hi], score_lines(page.features, LAYER1_WEIGHTS, LAYER2_WEIGHTS))


def test_detect_languages_equals_detect_language() -> None:
    texts = [" ".join(split_lines(text)) for text in _synthetic_pages()] + ["", "Hi", "12345 67890 " * 20]
    assert detect_languages(texts) == [detect_language(text) for text in texts]


def _message(value: Any, offset: int) -> SourceMessage:
    raw = orjson.dumps(value) if isinstance(value, dict) else value
    return SourceMessage(topic="articles.raw", partition=0, offset=offset, key=None, value=raw)


def test_clean_articles_equals_clean_article(make_raw_article: Callable[..., dict[str, Any]]) -> None:
    contents = [text for text, kind in _seed_texts() if kind == "text/plain"][:4]
    values: list[Any] = [make_raw_article(content=text) for text in contents]
    values += [b"not json", make_raw_article(content=""), make_raw_article(fetched_at="not a time"), b""]
    messages = [_message(value, k) for k, value in enumerate(values)]
    checks = [_known if k % 2 else None for k in range(len(messages))]
    batch = clean_articles(messages, CleanOptions(), is_known_boilerplate=checks)
    single = [clean_article(m, CleanOptions(), is_known_boilerplate=c) for m, c in zip(messages, checks, strict=True)]
    for got, expected in zip(batch, single, strict=True):
        if isinstance(expected, Failure):
            assert isinstance(got, Failure)
            assert (type(got.error), str(got.error), got.article_id) == (
                type(expected.error), str(expected.error), expected.article_id)
        else:
            assert isinstance(got, dict)
            got.pop("cleaned_at")
            expected.pop("cleaned_at")
            assert got == expected
    assert any(isinstance(outcome, Failure) for outcome in batch)
    assert any(isinstance(outcome, dict) and outcome["body"] for outcome in batch)


@pytest.mark.parametrize("native", [True, False])
def test_page_views_search_their_own_lines(native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of a batch shares the batch's joined texts: ``lines_with`` still finds only its own lines, the
    ones it finds on the page taken alone (needles across page edges, at the first and last lines)."""
    if not native:
        monkeypatch.setattr(pagetext, "_speedups", None)
    pages = [split_lines(text) for text in _synthetic_pages()[:12]] + [["Only line"], ["© x", "İstanbul 5 ©"]]
    batch = pagetext.page_batch(pages)
    for lines, view in zip(pages, batch.pages, strict=True):
        alone = pagetext.page_text(lines)
        assert view.special_case_folding == alone.special_case_folding
        needles = {"©", ":", "e", "the", lines[0][:4], lines[-1][-4:], lines[-1], "İ"}
        for needle in needles:
            for lower in (False, True):
                assert view.lines_with(needle, lower=lower) == alone.lines_with(needle, lower=lower), needle
