"""Boilerplate learned per source: once-per-article counting, decay, bounds, codecs (pure, no Faust)."""

from __future__ import annotations

from workers.cleaning.learned import (
    DECAY_STEPS_PER_HALF_LIFE,
    RECENT_ARTICLES,
    ArticleLines,
    LearnedLimits,
    SourceLines,
    article_digest,
    decode_observation,
    decode_state,
    encode_observation,
    encode_state,
    fingerprint,
    learned_fingerprints,
    observe,
    source_key,
    sources_per_partition,
    sources_to_evict,
)

DAY = 86_400.0
LIMITS = LearnedLimits(min_articles=5, half_life_s=7 * DAY, max_lines=50, max_sources=10)
T0 = 1_700_000_000.0
BANNER = "Get the Harbour Gazette app for breaking news alerts on your phone"


def unique(n: int, tag: str = "") -> str:
    """A line of its own (fingerprints ignore digits, so spell the number in letters)."""
    return f"one-off line {''.join(chr(97 + int(d)) for d in str(n))} {tag}".strip()


def article(n: int, lines: list[str], at: float = T0) -> ArticleLines:
    return ArticleLines(article_digest(f"article-{n}"), at, tuple(fingerprint(line) for line in lines))


def test_fingerprint_ignores_case_digits_and_spacing() -> None:
    assert fingerprint("Updated 10:48  GMT") == fingerprint("updated 11:05 gmt")
    assert fingerprint("Updated 10:48 GMT") != fingerprint("Published 10:48 GMT")
    assert len(fingerprint(BANNER)) == 16


def test_a_line_counts_once_per_article_however_often_it_occurs() -> None:
    state = SourceLines()
    observe(state, article(1, [BANNER, BANNER, BANNER, "A story line."]), LIMITS)
    assert state.counts[fingerprint(BANNER)] == 1.0
    for n in range(2, 5):
        observe(state, article(n, [BANNER] * 3), LIMITS)
    assert state.counts[fingerprint(BANNER)] == 4.0
    assert fingerprint(BANNER) not in learned_fingerprints(state, T0, LIMITS), "4 articles < K=5"
    observe(state, article(5, [BANNER]), LIMITS)
    assert learned_fingerprints(state, T0, LIMITS) == {fingerprint(BANNER)}


def test_a_replayed_article_is_not_counted_twice() -> None:
    state = SourceLines()
    assert observe(state, article(1, [BANNER]), LIMITS)
    assert not observe(state, article(1, [BANNER]), LIMITS)
    assert state.counts[fingerprint(BANNER)] == 1.0
    for n in range(2, RECENT_ARTICLES + 10):
        observe(state, article(n, []), LIMITS)
    assert len(state.recent) == RECENT_ARTICLES, "the replay memory is bounded"


def test_counts_decay_with_the_half_life_and_old_lines_are_forgotten() -> None:
    state = SourceLines()
    for n in range(8):
        observe(state, article(n, [BANNER, unique(n)]), LIMITS)
    fp = fingerprint(BANNER)
    assert fp in learned_fingerprints(state, T0, LIMITS)
    # Reading decays too: 8 articles, one half-life later, count as 4 < K.
    assert fp not in learned_fingerprints(state, T0 + 7 * DAY, LIMITS)
    assert fp in learned_fingerprints(state, T0 + 3 * DAY, LIMITS), "8 * 2^(-3/7) = 5.9 >= 5"
    # Observing a later article applies the decay to the stored counts and prunes what decayed away.
    observe(state, article(100, [BANNER], at=T0 + 7 * DAY), LIMITS)
    assert state.counts[fp] == 8 * 0.5 + 1
    assert all(fingerprint(unique(n)) in state.counts for n in range(8)), "0.5 is kept"
    observe(state, article(101, [], at=T0 + 21 * DAY), LIMITS)
    assert not any(fingerprint(unique(n)) in state.counts for n in range(8)), "0.125 is forgotten"
    assert fp in state.counts


def test_k_articles_close_together_count_exactly_k() -> None:
    step = LIMITS.step_s
    state = SourceLines()
    start = LIMITS.epoch(T0) * step  # the start of a decay step
    for n in range(5):
        observe(state, article(n, [BANNER], at=start + n * step / 10), LIMITS)
    assert state.counts[fingerprint(BANNER)] == 5.0
    assert fingerprint(BANNER) in learned_fingerprints(state, start + step / 2, LIMITS)
    assert DECAY_STEPS_PER_HALF_LIFE * step == LIMITS.half_life_s


def test_late_records_never_decay_backwards() -> None:
    state = SourceLines()
    observe(state, article(1, [BANNER], at=T0 + DAY), LIMITS)
    observe(state, article(2, [BANNER], at=T0), LIMITS)
    assert state.counts[fingerprint(BANNER)] == 2.0
    assert state.seen_at == T0 + DAY


def test_lines_per_source_are_capped_lowest_counts_and_oldest_first() -> None:
    state = SourceLines()
    for n in range(30):
        observe(state, article(n, [BANNER, unique(n, "a"), unique(n, "b"), unique(n, "c")]), LIMITS)
        assert len(state.counts) <= LIMITS.max_lines
    fp = fingerprint(BANNER)
    assert state.counts[fp] == 30.0, "the repeated line survives eviction"
    assert fingerprint(unique(29, "c")) in state.counts, "the newest article's lines are never evicted"
    assert fingerprint(unique(0, "a")) not in state.counts, "the oldest one-off lines go first"
    assert len(state.counts) == LIMITS.max_lines


def test_an_article_with_more_lines_than_the_cap_is_cut_not_grown() -> None:
    state = SourceLines()
    observe(state, article(1, [unique(i, "of a very long page") for i in range(200)]), LIMITS)
    assert len(state.counts) == LIMITS.max_lines


def test_sources_are_capped_least_recently_seen_first() -> None:
    seen = {"a": 10.0, "b": 5.0, "c": 7.0}
    assert sources_to_evict(seen, 3) == []
    assert sources_to_evict(seen, 3, incoming="d") == ["b"]
    assert sources_to_evict(seen, 3, incoming="a") == []
    assert sources_to_evict(seen, 1, incoming="d") == ["b", "c", "a"]
    assert sources_to_evict({b"x": 1.0, b"y": 2.0}, 1) == [b"x"]
    assert sources_per_partition(LIMITS, 4) == 3
    assert sources_per_partition(LearnedLimits(max_sources=1), 12) == 1


def test_state_and_observation_round_trip() -> None:
    state = SourceLines()
    for n in range(6):
        observe(state, article(n, [BANNER, unique(n)]), LIMITS)
    again = decode_state(encode_state(state))
    assert again == state
    assert learned_fingerprints(again, T0, LIMITS) == {fingerprint(BANNER)}
    assert decode_state(None) == SourceLines()
    assert decode_state(b"not json") == SourceLines()
    assert decode_state(b'{"v": 99}') == SourceLines()
    items = [article(1, [BANNER]), article(2, ["x"], at=T0 + 1)]
    assert decode_observation(encode_observation("example news", items)) == ("example news", items)
    assert decode_observation(b"{}") is None
    assert decode_observation(b"\xff") is None


def test_source_key_prefers_the_source_then_the_url_host() -> None:
    assert source_key({"source": "  Example   News "}) == "example news"
    assert source_key({"source": None, "url": "https://www.example.org/a/b"}) == "example.org"
    assert source_key({"source": "", "url": "not a url"}) is None
    assert source_key({}) is None
