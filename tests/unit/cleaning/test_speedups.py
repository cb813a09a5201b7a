"""The native helpers (``workers/cleaning/_speedups.c``) give exactly what the numpy and Python code they
stand in for gives: per-line counts, line shapes, feature columns, probabilities, split lines, language
features and, end to end, the same extraction for every input (seeds, synthetic pages, hostile input and
random text). Nothing here reads the evaluation pages."""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SEEDS
from workers.cleaning import extract, language, linemodel, native, pagetext, plaintext
from workers.cleaning.extract import ArticleInput, extract_articles
from workers.cleaning.line_weights import LAYER1_WEIGHTS, LAYER2_WEIGHTS
from workers.cleaning.linemodel import _CAPTION_LOWER_RE, _SEPARATOR_RE, _URL_RE
from workers.cleaning.plaintext import TextPage, split_lines

speedups = pytest.importorskip("workers.cleaning._speedups")
if native.speedups is None:  # built, but WIRESTREAM_PURE_PYTHON is set: these tests pin the native path to Python's
    pytest.skip(f"the native helpers are not active ({native.PURE_PYTHON_ENV} is set)", allow_module_level=True)

MODULES = [module for module in (pagetext, language, linemodel, plaintext, extract) if hasattr(module, "_speedups")]

ODD_LINES = [
    "ΟΔΟΣ ΣΟΦΙΑΣ Σ ΑΣ. «Σ»", "İstanbul’da İZMİR ıIı ſ K Kelvin", "Straße ﬁnance ΣΑΣ",
    "日本語の記事です。東京 2024年3月5日",
    "Emoji 🙂 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 words 12345 1a 5feb", "Lone \udcff surrogate \ud800 here", "By Jane Doe, 12 March 2024",
    "a", "1", "_", "©", "Home | News | Sport", "“We said,” our team, you know.", "x" * 300, "१२३४ ٣٤٥٦ digits",
    "HTTPS://EXAMPLE.COM/a", "hTTpſ://x", "see www.Example.CO.UK, or mail@host", "foo.com_bar .COM", "a .co.uk1",
    "Photo: Getty", "(Image credit: AFP)", "AP Photo / Reuters", "• item", " / slash / ", "a·b", "x » y", "ǅ DŽ ǆ",
    "ALL CAPS LINE", "ALL CAPS ǅ", "ⅠⅡⅢ Ⅳ", "© 2024 Example Ltd. All rights reserved.", "Comments (12)",
    "Related: More stories", "Support our journalism with a monthly contribution", "مقالة عربية: قراءة ١٢٣٤",
    "עברית | חדשות", "e\u0301te\u0301 nai\u0308ve", "Zero\u200bwidth", "tab\there", "x\x00y", "12/03/2024 10:30 GMT",
    "3 hours ago", "hace 2 horas", "Advertisement", "Share this article",
]


@pytest.fixture
def python_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every caller of the native helpers runs its Python code."""
    for module in MODULES:
        monkeypatch.setattr(module, "_speedups", None)
    yield


def _both(monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any]) -> tuple[Any, Any]:
    """``run()`` with the native helpers, then with the Python code."""
    native_result = run()
    with monkeypatch.context() as patch:
        for module in MODULES:
            patch.setattr(module, "_speedups", None)
        python_result = run()
    return native_result, python_result


def _pages() -> list[list[str]]:
    rng = random.Random(11)
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.iterdir()) if path.suffix == ".txt"]
    pages = [split_lines(text) for text in texts]
    pages += [split_lines(text.upper()) for text in texts]
    pool = [line for page in pages for line in page] + ODD_LINES
    for _ in range(60):
        page = rng.sample(pool, rng.randint(1, 40))
        if rng.random() < 0.3:
            page = [line.replace(" ", rng.choice(["  ", "\u00a0", " İ ", " Σ ", " | ", " / ", ". "])) for line in page]
        pages.append([line for line in page if line])
    pages.append(ODD_LINES)
    return pages


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bits (NaNs and signed zeros included)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.array_equal(a.view(np.uint8), b.view(np.uint8))) if a.size else True


def _shape_reference(line: str) -> int:
    return ((pagetext.SHAPE_SEPARATOR if _SEPARATOR_RE.search(line) else 0)
            | (pagetext.SHAPE_URL if _URL_RE.search(line) else 0)
            | (pagetext.SHAPE_UPPER if line.isupper() else 0)
            | (pagetext.SHAPE_COLON if ":" in line else 0)
            | (pagetext.SHAPE_COPYRIGHT if "©" in line else 0))


# --- the counting pass ----------------------------------------------------------------------------

@pytest.mark.parametrize("page", _pages())
def test_native_counts_equal_numpy_counts(page: list[str]) -> None:
    _check_native_counts(page)


def _random_page(seed: int, most: int, make_line: Callable[[random.Random], str]) -> list[str]:
    """Up to ``most`` lines from ``make_line`` (stripped, the empty ones left out; ["x"] if none is left)."""
    rng = random.Random(seed)
    page = [line for line in (make_line(rng).strip() for _ in range(rng.randint(1, most))) if line]
    return page or ["x"]


_LONG_LINE_ALPHABET = [*"ab AB 0123456789 ,.:/|@©•ÉéİıſΣσ你\u212a", "www.", ".com", "http://", "By ", "cookies "]


def _random_long_lines(seed: int) -> list[str]:
    """Lines of up to a few hundred characters from a small alphabet, so that words, digit runs, shape
    characters and special case-folding characters fall on every side of the native scan's blocks."""

    def line(rng: random.Random) -> str:
        size = rng.choice([1, 5, 63, 64, 65, 127, 128, 129, rng.randint(1, 400)])
        return "".join(rng.choice(_LONG_LINE_ALPHABET) for _ in range(size))

    return _random_page(seed, 30, line)


@pytest.mark.parametrize("seed", range(40))
def test_native_counts_equal_numpy_counts_on_long_random_lines(seed: int) -> None:
    _check_native_counts(_random_long_lines(seed))


def _random_word_lines(seed: int) -> list[str]:
    """Lines of vocabulary words (long ones looked up in the exact dictionary among them), near misses,
    digit runs and very long tokens, joined by one or more separators: tokens start, end and run across
    the native scan's 64-character mask words at every offset."""
    words = ["the", "we", "by", "newsletter", "newsletters", "newsletterx", "subscribe", "copyright", "cookies",
             "business", "busines", "2024", "12th", "3rd", "1a2b3c4d", "x" * 63, "y" * 64, "z" * 130, "_", "é",
             "σ", "ab12345cd"]
    separators = [" ", "  ", ", ", ".", "-", " © "]

    def line(rng: random.Random) -> str:
        parts = [rng.choice(words) + rng.choice(separators) for _ in range(rng.randint(1, 40))]
        return "".join(parts)[rng.randint(0, 3):]

    return _random_page(seed, 25, line)


@pytest.mark.parametrize("seed", range(40))
def test_native_counts_equal_numpy_counts_on_random_word_lines(seed: int) -> None:
    _check_native_counts(_random_word_lines(seed))


def _check_native_counts(page: list[str]) -> None:
    joined = "\n".join(page)
    lower_lines = [line.lower() for line in page]
    lower_joined = "\n".join(lower_lines)
    assert lower_joined.split("\n") == lower_lines  # lower-casing the joined text is lower-casing each line
    lengths = np.array([len(line) for line in page], dtype=np.int64)
    lower_lengths = np.array([len(line) for line in lower_lines], dtype=np.int64)
    native = pagetext._native_counts(joined, lower_joined, lengths, lower_lengths)
    reference = pagetext._numpy_counts(joined, lower_joined, lengths, lower_lengths)
    for name in native.__dataclass_fields__:
        if name.startswith("token_") or name == "shape":
            continue
        got, expected = getattr(native, name), getattr(reference, name)
        if isinstance(expected, np.ndarray):
            assert _same_array(got, expected), name
        else:
            assert got == expected, name
    # The native pass keeps the tokens of the lines the phrase regex is tried on: a PHRASE token or a "©".
    gated = ((reference.token_bits & pagetext.PHRASE) != 0) | np.array(["©" in line for line in page])
    kept = gated.take(reference.token_line)
    for name in ("token_start", "token_line", "token_key", "token_length", "token_bits_each", "token_first_class"):
        assert _same_array(getattr(native, name), getattr(reference, name)[kept]), name
    assert native.shape is not None
    assert native.shape.tolist() == [_shape_reference(line) for line in page]


def test_page_text_is_the_same_without_the_native_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = _pages()
    native_batch, python_batch = _both(monkeypatch, lambda: pagetext.page_batch(pages))
    for got, expected in zip(native_batch.pages, python_batch.pages, strict=True):
        for name in expected.__dataclass_fields__:
            if name in ("shape", "line_starts"):
                continue
            a, b = getattr(got, name), getattr(expected, name)
            assert _same_array(a, b) if isinstance(b, np.ndarray) else a == b, name


# --- feature columns and probabilities ----------------------------------------------------------------

def _analysed(pages: list[list[str]]) -> list[np.ndarray]:
    found = []
    for analysed in plaintext._analyse_batches([TextPage("\n".join(page)) for page in pages]):
        found.append(analysed.features)
        found.append(linemodel.score_batch(analysed.features, analysed.bounds, LAYER1_WEIGHTS, LAYER2_WEIGHTS))
    return found


def test_features_and_probabilities_are_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = _pages()
    rng = random.Random(3)
    for selection in (pages, pages[:1], [pages[-1]], rng.sample(pages, 17), rng.sample(pages, 40)):
        got, expected = _both(monkeypatch, lambda selection=selection: _analysed(selection))
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert _same_array(a, b)


def test_numpy_columns_use_the_native_shape_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Native counts with the numpy feature code (the shape bits stand in for three regexes) give the same."""
    pages = _pages()
    native_result = _analysed(pages)
    monkeypatch.setattr(linemodel, "_speedups", None)
    for a, b in zip(native_result, _analysed(pages), strict=True):
        assert _same_array(a, b)


@pytest.mark.parametrize("context", [
    {"header_end": 2**62, "date_index": 2**62, "byline_index": -(2**62), "title_index": 1, "cjk": True},
    {"header_end": -(2**62), "date_index": None, "byline_index": 0, "title_index": None, "cjk": False},
    {"header_end": 3, "date_index": 4, "byline_index": 3, "title_index": 2, "cjk": False},
])
def test_line_features_take_any_context(context: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [line for page in _pages()[:3] for line in page][:60]
    got, expected = _both(monkeypatch, lambda: linemodel.line_features(
        lines, **context, is_known_boilerplate=lambda line: "|" in line))
    assert _same_array(got, expected)


# --- end to end -----------------------------------------------------------------------------------

def _hostile() -> list[str]:
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(20_000))
    return [
        "", " ", "\n\n\n", "\x00" * 100, "a\x00b\x00c\n" * 50, junk.decode("latin-1"), junk.decode("utf-8", "replace"),
        "".join(chr(rng.randrange(32)) for _ in range(3000)), "\ud800\udc00 \udfff lone surrogates\n" * 20,
        "東京で記者会見。\n" * 300, "مرحبا بالعالم. هذه مقالة.\nשלום עולם | חדשות\n" * 100,
        "e\u0301\u0301\u0301 co\u0308mbining marks\n" * 200, "İSTANBUL ſ K\n" * 40, "x" * 100_000,
        "word " * 200_000, "a\n" * 20_000, "\r\n".join(ODD_LINES * 30), "\u2028".join(ODD_LINES),
        "\x85".join(ODD_LINES), "🙂" * 5000, "1234 " * 2000, ":" * 5000, "|" * 5000, "©" * 100, "http://" * 1000,
    ]


def test_extraction_is_identical_for_seeds_and_hostile_input(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.iterdir()) if path.suffix == ".txt"]
    texts += ["\n".join(page) for page in _pages()] + _hostile()
    inputs = [ArticleInput(text, "text/plain") for text in texts]
    got, expected = _both(monkeypatch, lambda: extract_articles(inputs))
    assert got == expected
    # One at a time too (other batch boundaries).
    got, expected = _both(monkeypatch, lambda: [extract_articles([item])[0] for item in inputs[::7]])
    assert got == expected


def test_huge_inputs_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Ab cd, ef. " * 1_000_000, "line\n" * 1_000_000, "多" * 10_000_000, ("z " * 40 + "\n") * 120_000]
    inputs = [ArticleInput(text, "text/plain") for text in texts]
    got, expected = _both(monkeypatch, lambda: extract_articles(inputs))
    assert got == expected


# --- random text ------------------------------------------------------------------------------------

_ALPHABET = st.one_of(
    st.sampled_from(list("aAbBcCoOmMsSkKwWhHtTpPuUiI .,:;/|@•·»›©\"“'’-_()[]0123456789\t\u00a0\u3000")),
    st.sampled_from(["ſ", "K", "İ", "ı", "Σ", "ς", "ǅ", "Ⅳ", "ß", "ﬁ", "\u0301", "\u200b", "\ufeff", "\ufffd",
                     "\x00", "\x0b", "\x1f", "\x7f", "\x85", "\u2028", "\u2029", "\r", "\n", "東", "ع", "🙂", "𝔘"]),
    st.characters(codec="utf-8"),
    st.characters(),
)
_WORDS = st.sampled_from(["the", "we", "our", "you", "by", "home", "news", "related", "photo", "getty", "ago", "may",
                          "journalism", "subscribe", "cookies", "privacy", "comments", "www.x.com", "https://a.co.uk",
                          "2024", "12", "March", "©", "|"])
_LINE = st.lists(st.one_of(_ALPHABET, _WORDS, _WORDS.map(str.upper)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, min_size=0, max_size=30))
def test_random_pages_are_identical(lines: list[str]) -> None:
    text = "\n".join(lines)
    inputs = [ArticleInput(text, "text/plain"), ArticleInput(text.upper(), "text/plain")]
    native_result = extract_articles(inputs)
    saved = [module._speedups for module in MODULES]
    try:
        for module in MODULES:
            module._speedups = None
        python_result = extract_articles(inputs)
    finally:
        for module, value in zip(MODULES, saved, strict=True):
            module._speedups = value
    assert native_result == python_result


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE.filter(bool), min_size=1, max_size=12))
def test_random_lines_have_the_regexes_shapes(lines: list[str]) -> None:
    lines = [line.replace("\n", " ") for line in lines]
    text = pagetext.page_batch([lines]).pages[0]
    assert text.shape is not None
    assert text.shape.tolist() == [_shape_reference(line) for line in lines]


@pytest.mark.parametrize("count", [1, 31, 32, 33, 100])
@pytest.mark.parametrize("last", [" | ", " www.x", "http://", "a.com", "© 2024", " : ", " • ", "@me", "x"])
def test_shapes_of_lines_with_many_shape_characters(count: int, last: str) -> None:
    """The shape characters of a line are looked at after its counting loop: those of lines with more than
    the native helper keeps places for are found too, wherever they are."""
    lines = ["a." * count + last, last + "a." * count + "x", last + "a." * (count - 1) + "x", "a." * count,
             "a/b " * count + last, "Σ." * count + last]
    text = pagetext.page_batch([lines]).pages[0]
    assert text.shape is not None
    assert text.shape.tolist() == [_shape_reference(line) for line in lines]


_CAPTION_TEXT = st.lists(st.one_of(
    st.sampled_from(["(", ")", "/", ":", " ", "  ", "\t", "\u3000", "s", "x", "_", "1", "-", "é", "\u0301"]),
    st.sampled_from(["image", "photo", "picture", "pic", "credit", "video", "source", "file", "getty", "afp",
                     "reuters", "ap photo", "ap", "shutterstock", "istock", "epa", "images", "photos", "pics"]),
    st.characters()), max_size=25).map("".join)


@settings(max_examples=800, deadline=None)
@given(st.lists(_CAPTION_TEXT, min_size=1, max_size=5))
def test_caption_lines_equal_the_regex(lines: list[str]) -> None:
    found = speedups.caption_lines(lines, np.arange(len(lines), dtype=np.int64), pagetext.char_table())
    assert list(found) == [int(_CAPTION_LOWER_RE.search(line) is not None) for line in lines]


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=30), st.integers(0, 40))
def test_random_lines_split_count_and_repeat_as_python(lines: list[str], cut: int) -> None:
    text = "\n".join(lines)
    assert speedups.split_clean_lines(plaintext._CONTROL_RE.sub("", text), 10**9) == [
        line for line in map(str.strip, plaintext._LINE_SPLIT_RE.split(plaintext._CONTROL_RE.sub("", text))) if line]
    assert speedups.has_control_chars(text) == (plaintext._CONTROL_RE.search(text) is not None)
    assert speedups.count_odd_chars(text, cut) == len(extract._ODD_CHAR_RE.findall(text[:cut]))
    assert speedups.sample_spaces(lines, 3, cut) == ("".join(lines[:3])[:cut].count(" "), len("".join(lines[:3])[:cut]))
    table = pagetext.char_table()
    mask, value = pagetext.WORD_CHAR | pagetext.DIGIT_CHAR, pagetext.WORD_CHAR
    assert speedups.count_classes(text, cut, table, mask, value) == sum(
        1 for c in text[:cut] if table[ord(c)] & mask == value)
    assert np.frombuffer(speedups.str_lengths(lines), dtype=np.int64).tolist() == [len(line) for line in lines]
    bounds = sorted({0, len(lines), *(min(cut, len(lines)),)})
    repeated = np.frombuffer(speedups.repeated_lines(lines, bounds), dtype=np.uint8).tolist()
    expected = []
    for lo, hi in pairwise(bounds):
        counts = Counter(lines[lo:hi])
        expected += [int(counts[line] > 1) for line in lines[lo:hi]]
    assert repeated == expected


_PROMO_WORDS = st.sampled_from(sorted(pagetext.PROMO_TRIGGER_WORDS | pagetext.PROMO_PARTNER_WORDS | {
    "you", "de", "its", "a", "monthly", "one-off", "outlets", "reporting.", "news!", "x", "our-reporting"}))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_PROMO_WORDS, _PROMO_WORDS.map(str.upper), st.sampled_from([" ", "  ", "\t", ", ", "-"])),
                max_size=14).map("".join).filter(lambda line: line.strip() and "\n" not in line))
def test_promo_lines_are_every_line_the_regex_can_count(line: str) -> None:
    """Lines left out by ``promo_lines`` have no self-promotion match where ``PROMO`` words gate the regex."""
    text = pagetext.page_batch([[line]]).pages[0]
    count = len(pagetext.SELF_PROMO_LOWER_RE.findall(text.lower_lines[0]))
    if text.has(pagetext.PROMO)[0] and not pagetext.promo_lines(text)[0]:
        assert count == 0
    assert text.promo[0] == (count if text.has(pagetext.PROMO)[0] else 0)


# --- pieces -------------------------------------------------------------------------------------------

SPLIT_CASES = [
    "", "\n\n", "a\r\nb\rc\nd\u2028e\u2029f", "a\r\x00\nb", " x \x85 y \x85\nz", "\x0b\x0c\x1c\x1d\x1e\x1f tab\tline\n",
    "  padded  \n\u3000ideographic space\u3000\n", "zero\u200bwidth\ufeff bom \ufffd", "\x7fdel\nend", "a\n" * 6000,
    "\r\n".join(ODD_LINES), "🙂 x\n  \n🙂", "\udc80\n\ud800 ", "\r", "\r\r\n\n",
]


@pytest.mark.parametrize("text", SPLIT_CASES)
def test_native_split_lines_equals_python(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    native_lines = split_lines(text)
    monkeypatch.setattr(plaintext, "_speedups", None)
    assert native_lines == split_lines(text)


@pytest.mark.parametrize("wide", ["", "\u0100", "\U0001f642"])
def test_character_scans_equal_the_regexes_for_every_character(wide: str) -> None:
    """Every code point of each string kind, alone and at every place around the scans' 64-character blocks."""
    low = 0x100 if wide else 0  # (the one-byte kind is covered by wide == "")
    top = 0x100 if not wide else 0x10000 if wide == "\u0100" else 0x110000
    for c in map(chr, range(low, top)):
        for text in (c + wide, wide + c):
            assert speedups.has_control_chars(text) == (plaintext._CONTROL_RE.search(text) is not None)
            assert speedups.count_odd_chars(text, 9) == len(extract._ODD_CHAR_RE.findall(text))
    for odd in ("\x00", "\x7f", "\u200b", "\ufeff", "\ufffd", "\x1f", "\t"):
        for size in (1, 63, 64, 65, 130):
            for at in sorted({0, size // 2, size - 1}):
                text = "a" * at + odd + "a" * (size - 1 - at) + wide
                assert speedups.has_control_chars(text) == (plaintext._CONTROL_RE.search(text) is not None)
                for cut in (at, at + 1, size + 5):
                    tripled = text * 3
                    assert speedups.count_odd_chars(tripled, cut) == len(extract._ODD_CHAR_RE.findall(tripled[:cut]))
                lines = [text.replace("a", " ")] * 3
                sample = "".join(lines[:2])[:size + 1]
                assert speedups.sample_spaces(lines, 2, size + 1) == (sample.count(" "), len(sample))


@pytest.mark.parametrize("wide", ["", "\u00e9", "\u0100", "\U0001f642"])
def test_lower_text_is_str_lower(wide: str) -> None:
    """Every code point next to a character of each kind (ASCII too), and the cases str.lower maps otherwise."""
    for c in map(chr, range(0x110000)):
        assert speedups.lower_text(c + wide) == (c + wide).lower()
    for text in ["", "ABC xyz", "\u212a", "\u212aA", "\u212a\u0100", "İstanbul", "ΟΔΟΣ Σ ΑΣ. «Σ»", "A\u0130B" * 40,
                 "x" * 100 + "Σ", "É" * 31 + "ABC" * 20, "\udcff LONE \ud800", *ODD_LINES]:
        for padded in (text + wide, wide + text, (text + wide) * 9):
            assert speedups.lower_text(padded) == padded.lower()
            assert type(speedups.lower_text(padded)) is str
    with pytest.raises(TypeError):
        speedups.lower_text(b"bytes")


@pytest.mark.parametrize("lines", [
    ["a"] * 5000, ["a", "b"] * 2500, [str(k) for k in range(5000)], ["🙂", "🙂 ", "\ud800", "\ud800", "x" * 9, "x" * 9],
    ["same text " * 40, "same text " * 40 + ".", "same text " * 40], [], ["only"],
])
def test_repeated_lines_equal_a_counter(lines: list[str]) -> None:
    bounds = [0, len(lines) // 3, len(lines) // 3, len(lines)]
    found = np.frombuffer(speedups.repeated_lines(lines, bounds), dtype=np.uint8).tolist()
    expected: list[int] = []
    for lo, hi in pairwise(bounds):
        counts = Counter(lines[lo:hi])
        expected += [int(counts[line] > 1) for line in lines[lo:hi]]
    assert found == expected


def test_repeated_lines_equal_a_counter_on_random_pages() -> None:
    # Many lines of few lengths, equal or not (the length pre-pass flags lines it then clears), in every kind.
    rng = random.Random(5)
    for _ in range(300):
        alphabet = rng.choice(["ab", "aé", "a🙂", "xyz ", "ab\u0100"])
        lines = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(4))) for _ in range(rng.randrange(40))]
        bounds = sorted([0, len(lines), *(rng.randrange(len(lines) + 1) for _ in range(rng.randrange(4)))])
        found = np.frombuffer(speedups.repeated_lines(lines, bounds), dtype=np.uint8).tolist()
        expected: list[int] = []
        for lo, hi in pairwise(bounds):
            counts = Counter(lines[lo:hi])
            expected += [int(counts[line] > 1) for line in lines[lo:hi]]
        assert found == expected


def test_ascii_folds_are_what_ignorecase_matches() -> None:
    pairs = pagetext.ascii_folds().reshape(-1, 2).tolist()
    assert [0x17F, ord("s")] in pairs and [0x212A, ord("k")] in pairs
    for code, letter in pairs:
        assert re.fullmatch(chr(letter), chr(code), re.IGNORECASE)


@pytest.mark.parametrize("line", ["(image: x)", "photos: here", "x / getty", "(video) clip", "ap photo", "/ ap",
                                  "pictures:", "(file)", "(filed)"])
def test_caption_lines_are_still_searched(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    got, expected = _both(monkeypatch, lambda: _analysed([["Some headline here", line, "x " * 30 + "."]]))
    for a, b in zip(got, expected, strict=True):
        assert _same_array(a, b)
    assert _CAPTION_LOWER_RE.pattern  # (the regex the caption column is made with)


def test_native_language_walk_equals_numpy_walk() -> None:
    language._load_identifier()
    walker = language._walker
    assert walker is not None and walker.native
    rng = random.Random(5)
    texts = [path.read_text(encoding="utf-8")[:700] for path in sorted(SEEDS.iterdir())] + ODD_LINES
    samples = [language._sample_bytes(text) for text in texts]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 900))) for _ in range(20)] + [b""]
    index, counts, cuts = walker.feature_counts(samples)
    walker.native = False
    try:
        expected_index, expected_counts, expected_cuts = walker.feature_counts(samples)
    finally:
        walker.native = True
    assert _same_array(index, expected_index) and _same_array(counts, expected_counts)
    assert list(cuts) == list(expected_cuts)


def _scores_reference(keys: np.ndarray, values: np.ndarray, cuts: list[int], weights: np.ndarray) -> np.ndarray:
    """feature_scores in numpy: each sample's terms added one at a time, in (stable) ascending key order."""
    rows = weights.astype(np.float32)
    found = np.zeros((len(cuts) - 1, weights.shape[1]), dtype=np.float32)
    for k, (lo, hi) in enumerate(pairwise(cuts)):
        for i in lo + np.argsort(keys[lo:hi], kind="stable"):
            found[k] = found[k] + values[i] * rows[keys[i]]
    return found


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_feature_scores_equal_numpy_sums(dtype: type) -> None:
    rng = np.random.default_rng(3)
    for classes, rows, samples in ((142, 3000, 40), (1, 5, 3), (9, 70_000, 7), (16, 1, 4)):
        weights = (rng.standard_normal((rows, classes)) * 8).astype(dtype)
        sizes = rng.integers(0, 60, samples)
        sizes[0] = 0  # (a sample without features)
        cuts = [0, *np.cumsum(sizes).tolist()]
        keys = rng.integers(0, rows, cuts[-1])
        for lo, hi in pairwise(cuts[:-2]):  # most samples ascending (as walked), the last two in any order
            keys[lo:hi].sort()
        values = np.log1p(rng.integers(1, 9, cuts[-1]).astype(np.float32))
        got = np.frombuffer(speedups.feature_scores(keys, values, _i64(*cuts), weights, classes,
                                                    dtype == np.float16), dtype=np.float32)
        assert _same_array(got.reshape(samples, classes), _scores_reference(keys, values, cuts, weights))


def test_feature_scores_widen_every_float16_exactly() -> None:
    weights = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).reshape(-1, 8)
    rows = weights.shape[0]
    got = np.frombuffer(speedups.feature_scores(np.arange(rows, dtype=np.int64), np.ones(rows, np.float32),
                                                np.arange(rows + 1, dtype=np.int64), weights, 8, True),
                        dtype=np.float32).reshape(rows, 8)
    with np.errstate(invalid="ignore"):  # (the signalling NaNs)
        expected = np.float32(0) + weights.astype(np.float32)
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.uint32), expected[~nan].view(np.uint32))


def test_native_language_scores_equal_numpy_scores() -> None:
    language._load_identifier()
    walker = language._walker
    assert walker is not None and walker.native
    texts = [path.read_text(encoding="utf-8")[:700] for path in sorted(SEEDS.iterdir())] + ODD_LINES
    keys, counts, cuts = walker.feature_counts([language._sample_bytes(text) for text in texts])
    got = walker.scores(keys, counts, cuts)
    values = np.log1p(counts.astype(np.float32))
    assert _same_array(got, _scores_reference(keys, values, cuts, walker.model_weights))
    walker.native = False
    try:
        blas = walker.scores(keys, counts, cuts)  # (summed in another order: equal up to rounding)
    finally:
        walker.native = True
    assert np.allclose(got, blas, rtol=1e-5, atol=1e-2)


def test_language_tables_are_copied_exactly() -> None:
    tables = [np.arange(10, dtype=np.uint32), np.arange(12, dtype=np.int64).reshape(3, 4) - 5,
              np.linspace(-1, 1, 3 << 20).astype(np.float16).reshape(-1, 8), np.zeros(0, np.int64)]
    copies = language._huge_page_copies(*tables)
    for table, copy in zip(tables, copies, strict=True):
        assert _same_array(copy, table) and copy.flags.c_contiguous
    assert all(copy.ctypes.data % 64 == 0 for copy in copies)


def test_languages_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.iterdir()) if path.suffix == ".txt"]
    texts += [*ODD_LINES, "\n".join(ODD_LINES), "", "a" * 30, "_" * 40 + " letters"]
    got, expected = _both(monkeypatch, lambda: language.detect_languages(texts))
    assert got == expected


# --- hostile arguments never crash the helpers ------------------------------------------------------

def _i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_scan_page_rejects_inconsistent_arguments() -> None:
    vocabulary = pagetext._vocabulary()
    multiplier, shift, keys, values = pagetext._probed_tokens()
    table, folds = pagetext.char_table(), pagetext.ascii_folds()

    def scan(joined: str, lengths: np.ndarray, lower_lengths: np.ndarray, **changes: object) -> object:
        args: dict[str, object] = {"table": table, "alphabet": vocabulary.alphabet, "keys": keys, "values": values,
                                   "shift": shift, "folds": folds}
        args.update(changes)
        return speedups.scan_page(joined, joined.lower(), lengths, lower_lengths, args["table"], args["alphabet"],
                                  multiplier, args["shift"], args["keys"], args["values"], vocabulary.exact,
                                  pagetext.CONFIRM, pagetext.STOP, pagetext.WE, pagetext.NAV, pagetext.BYLINE,
                                  pagetext.PHRASE, args["folds"])

    assert scan("ab\ncd", _i64(2, 2), _i64(2, 2))
    for lengths in (_i64(), _i64(0, 4), _i64(2, 3), _i64(1, 1), _i64(6), _i64(2**62, 2), _i64(-1, 5),
                    _i64(3, 2), _i64(2, 2, 0), np.array([2, 2], dtype=np.int32)):
        with pytest.raises(ValueError):
            scan("ab\ncd", lengths, lengths)
    for change in ({"table": table[:100]}, {"alphabet": vocabulary.alphabet[:10]}, {"keys": keys[:3]},
                   {"values": values[:-1]}, {"shift": 0}, {"shift": 70}, {"folds": folds[:3].astype(np.uint8)}):
        with pytest.raises((ValueError, OverflowError)):
            scan("ab\ncd", _i64(2, 2), _i64(2, 2), **change)


def test_line_helpers_reject_inconsistent_arguments() -> None:
    m = np.zeros((2, 50))
    cols = linemodel._NATIVE_COLUMN_INDEX
    per_line = (_i64(1, 1), _i64(2, 2), _i64(0, 0), _i64(0, 0), _i64(0, 0), _i64(0, 0), _i64(0, 0), _i64(0, 0),
                [0, 0], np.zeros(2, np.uint32), np.zeros(2, np.uint32), [False, False], np.zeros(2, np.uint8))
    per_page = (_i64(0), _i64(2), _i64(0), _i64(-1), _i64(-1), _i64(-1))
    bits = (8, 16, 4, 32, 4, 4, 1, 2)
    log1p = linemodel._log1p_table(10)
    table = pagetext.char_table()
    speedups.line_columns(m, cols, per_line, per_page, table, log1p, bits)
    bad_pages = [(_i64(0), _i64(3), *per_page[2:]), (_i64(1), _i64(2), *per_page[2:]),
                 (_i64(0), _i64(1), *per_page[2:]), (_i64(0, 1), _i64(1, 1), *per_page[2:]),
                 (_i64(0), _i64(2), _i64(0, 0), *per_page[3:])]
    for pages in bad_pages:
        with pytest.raises(ValueError):
            speedups.line_columns(m, cols, per_line, pages, table, log1p, bits)
    bad_lines = [(_i64(1), *per_line[1:]), (*per_line[:9], np.full(2, 0x110000, np.uint32), *per_line[10:]),
                 (*per_line[:8], [0], *per_line[9:]), (*per_line[:11], [False], per_line[12]),
                 (_i64(5, 5), *per_line[1:])]
    for lines in bad_lines:
        with pytest.raises(ValueError):
            speedups.line_columns(m, cols, lines, per_page, table, log1p, bits)
    with pytest.raises(ValueError):
        speedups.line_columns(m, cols, per_line, per_page, table, log1p[:2], bits)
    with pytest.raises(ValueError):
        speedups.line_columns(m, _i64(*([99] * len(linemodel._NATIVE_COLUMNS))), per_line, per_page, table, log1p, bits)
    with pytest.raises((TypeError, ValueError)):
        speedups.line_columns(m[:, :3].copy()[:1], cols, per_line, per_page, table, log1p, bits)
    with pytest.raises(TypeError):
        speedups.line_columns(m, cols, per_line[:-1], per_page, table, log1p, bits)
    for lines in ((np.zeros(1),) * 13, (*per_line[:8], _i64(0, 0), *per_line[9:]), (*per_line[:12], [0, 0]),
                  (*per_line[:3], np.zeros((2, 2))[:, 0], *per_line[4:])):
        # (wrong types, and a strided column: none may get past the argument checks)
        with pytest.raises((TypeError, ValueError, BufferError)):
            speedups.line_columns(m, cols, lines, per_page, table, log1p, bits)
    with pytest.raises((TypeError, ValueError, BufferError)):
        speedups.line_columns(m, cols, per_line, (np.zeros(1),) * 6, table, log1p, bits)
    read_only = m.copy()
    read_only.setflags(write=False)
    with pytest.raises((TypeError, BufferError)):
        speedups.line_columns(read_only, cols, per_line, per_page, table, log1p, bits)
    out = np.zeros((2, 8))
    with pytest.raises(ValueError):
        speedups.window_means(np.zeros(2), _i64(0), _i64(3), out, 8, 4, 2)
    with pytest.raises(ValueError):
        speedups.window_means(np.zeros(2), _i64(0), _i64(2), out, 8, 8, 2)
    with pytest.raises(ValueError):
        speedups.window_means(np.zeros(2), _i64(0), _i64(2), out, 8, 4, 6)
    with pytest.raises(ValueError):
        speedups.repeated_lines(["a", "a"], [0, 3])
    with pytest.raises(ValueError):
        speedups.repeated_lines(["a", "a"], [1, 0])
    with pytest.raises(TypeError):
        speedups.repeated_lines(["a", 1], [0, 2])
    with pytest.raises(TypeError):
        speedups.str_lengths(["a", b"b"])
    with pytest.raises(ValueError):
        speedups.caption_lines(["a"], _i64(1), table)
    with pytest.raises(ValueError):
        speedups.caption_lines(["a"], _i64(-1), table)
    with pytest.raises(TypeError):
        speedups.caption_lines(["a", 2], _i64(1), table)
    with pytest.raises(TypeError):
        speedups.sample_spaces(["a", None], 5, 5)
    with pytest.raises(ValueError):
        speedups.count_classes("abc", 3, table[:5], 1, 1)
    firsts, seconds, beginnings = pagetext._native_key_tables()
    token = (_i64(0), np.zeros(1, np.uint64), _i64(1), _i64(0), np.zeros(1, np.uint8))
    assert speedups.phrase_starts(np.ones(1, np.uint8), *token, firsts, seconds, beginnings, 1, True, 2) == bytearray()
    with pytest.raises(ValueError):
        speedups.phrase_starts(np.ones(1, np.uint8), _i64(5), *token[1:], firsts, seconds, beginnings, 1, True, 2)
    with pytest.raises(ValueError):
        speedups.phrase_starts(np.ones(1, np.uint8), *token, (firsts[0], 0, firsts[2], firsts[3]), seconds,
                               beginnings, 1, True, 2)
    with pytest.raises(ValueError):
        speedups.phrase_starts(np.ones(1, np.uint8), *token, firsts, ((9, firsts),), beginnings, 1, True, 2)
    for bad_seconds in (((1, [1, 2, 3, 4]),), ((1,),), (5,), ((1, (1, 2, b"x" * 8)),)):
        with pytest.raises((TypeError, ValueError)):
            speedups.phrase_starts(np.ones(1, np.uint8), *token, firsts, bad_seconds, beginnings, 1, True, 2)
    with pytest.raises((TypeError, ValueError)):
        speedups.phrase_starts(np.ones(1, np.uint8), *token, [1, 2], seconds, beginnings, 1, True, 2)
    walker_args = (np.zeros(4, np.uint32), _i64(0), _i64(-1), 1, 1)
    with pytest.raises(ValueError):
        speedups.walk_features(b"abc", _i64(2), *walker_args)
    with pytest.raises(ValueError):
        speedups.walk_features(b"abc", _i64(5, -2), *walker_args)
    with pytest.raises(ValueError):
        speedups.walk_features(b"abc", _i64(3), *walker_args)  # a move beyond the table
    weights, values = np.zeros((4, 3), np.float16), np.ones(2, np.float32)
    assert len(speedups.feature_scores(_i64(0, 3), values, _i64(0, 1, 2), weights, 3, True)) == 2 * 3 * 4
    for keys, vals, cuts, table, classes, half in (
            (_i64(0, 4), values, _i64(0, 1, 2), weights, 3, True),  # a feature beyond the table
            (_i64(0, -1), values, _i64(0, 1, 2), weights, 3, True),
            (_i64(0, 1), values[:1], _i64(0, 1, 2), weights, 3, True),
            (_i64(0, 1), values, _i64(0, 2, 1), weights, 3, True),
            (_i64(0, 1), values, _i64(0, 1), weights, 3, True),
            (_i64(0, 1), values, _i64(1, 2), weights, 3, True),
            (_i64(0, 1), values, _i64(), weights, 3, True),
            (_i64(0, 1), values, _i64(0, 1, 2), weights, 5, True),
            (_i64(0, 1), values, _i64(0, 1, 2), weights, 0, True),
            (_i64(0, 1), values, _i64(0, 1, 2), weights[:, :2], 3, False)):
        with pytest.raises(ValueError):
            speedups.feature_scores(keys, vals, cuts, np.ascontiguousarray(table), classes, half)


def test_the_environment_variable_selects_the_python_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.PURE_PYTHON_ENV, "1")
    assert native._load() is None
    monkeypatch.setenv(native.PURE_PYTHON_ENV, "0")
    assert native._load() is speedups
    assert native.implementation() in ("native", "python")
    assert native.describe().startswith("plain-text cleaning path: native")
    assert sys.modules["workers.cleaning._speedups"] is speedups
