"""Boilerplate learned from the stream, through the real clean and learn agents (Faust test_context)."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from tests.agents.conftest import SentRecords
from workers.app import Topics, create_app
from workers.cleaning.agent import register_clean_agent
from workers.cleaning.learned import decode_state, fingerprint
from workers.settings import load_settings

SOURCE = "Harbour Gazette"
#: A banner no rule knows: it reads like a sentence of the story.
BANNER = "Gazette readers can now hear every story read aloud by our narrators in the Harbour Gazette app."
#: A sentence that appears in one earlier article and again in the 21st: seen in 2 articles < K, so kept.
ONCE = "The committee's chair, Priya Nandakumar, said the figures would be published in full next week."

PLACES = ["Portsmouth", "Southampton", "Plymouth", "Falmouth", "Dover", "Harwich", "Whitby", "Tynemouth",
          "Fowey", "Poole", "Weymouth", "Brixham", "Padstow", "Ramsgate", "Lowestoft", "Grimsby", "Hull",
          "Bristol", "Cardiff", "Swansea", "Milford"]
TOPICS = ["ferry timetable", "harbour dredging", "fish market", "lifeboat station", "marina expansion",
          "sea wall repairs", "cruise terminal", "container berth", "pilot service", "lighthouse",
          "boatyard", "coastguard base", "slipway", "shipyard", "oyster beds", "tidal barrier", "ferry fares",
          "dock cranes", "quay parking", "beach huts", "harbour dues"]
PEOPLE = ["Alice Merrow", "Tom Keverne", "Nia Pryce", "Omar Haddad", "Ruth Pengelly", "Ewan Tregear",
          "Grace Oduya", "Karl Lindqvist", "Mira Solano", "Dev Anand", "Jo Carrick", "Ines Ferreira",
          "Paul Nankivell", "Sara Quint", "Leo Marchetti", "Hana Sato", "Will Rowe", "Zoe Bellamy",
          "Ian Polglase", "Amy Trewin", "Ben Carne"]


def story(n: int) -> str:
    """Article ``n`` of the source: its own headline, byline and paragraphs, with the banner woven in."""
    place, topic, person = PLACES[n], TOPICS[n], PEOPLE[n]
    rng = random.Random(n)
    paragraphs = [
        f"Councillors in {place} approved a plan for the {topic} on Tuesday after a heated public meeting.",
        f"“We have waited years for this,” said {person}, who has campaigned on the {topic} since the spring.",
        f"Opponents in {place} argued that the {topic} would cost more than the council had budgeted.",
        f"The {topic} scheme is expected to begin in the autumn, the council's planning officer told {person}.",
        f"Residents of {place} will be able to comment on the detailed designs for the {topic} online.",
    ]
    if n == 3:
        paragraphs.insert(2, ONCE)
    paragraphs.insert(rng.randrange(1, len(paragraphs)), BANNER)
    header = [f"{place} backs {topic} plan after late vote", f"By {person}", "Tuesday 12 March 2024 10:42 GMT"]
    return "\n".join(header + paragraphs) + "\n"


def final_story() -> str:
    return (
        "Milford lifeboat crew rescues two kayakers off the headland\n"
        "By Ben Carne\n"
        "Wednesday 13 March 2024 09:15 GMT\n"
        "Two kayakers were rescued off Milford headland on Wednesday morning after their boats capsized.\n"
        f"{BANNER}\n"
        "The lifeboat crew reached the pair within twenty minutes of the alarm being raised by a walker.\n"
        f"{ONCE}\n"
        "Both kayakers were treated for mild hypothermia at the harbour and later went home.\n"
    )


def capture(topics: Topics, monkeypatch: Any) -> SentRecords:
    """Record what the app's producer sends (JSON values decoded), acknowledging like a broker."""
    sent = SentRecords()

    async def fake_send(topic: str, key: Any, value: Any, *_: Any, **__: Any) -> asyncio.Future[None]:
        sent.by_topic.setdefault(topic, []).append((key, orjson.loads(value) if value else {}, []))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    monkeypatch.setattr(topics.clean.app.producer, "send", fake_send)
    return sent


async def test_a_banner_repeated_across_a_source_is_learned_and_removed(
    make_raw_article: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    settings = load_settings(batch_size=4, batch_window_s=0.05, data_dir=str(tmp_path), learned_min_articles=5)
    app, topics = create_app(settings, "clean")
    clean = register_clean_agent(app, topics, settings, ThreadPoolExecutor(1))
    learn = app.agents["learn-boilerplate"]
    table = app.tables["learned-boilerplate"]
    observations = f"{app.conf.id}-learned-observations"
    sent = capture(topics, monkeypatch)

    def raw(n: int, content: str) -> bytes:
        return orjson.dumps(make_raw_article(id=f"gazette-{n}", source=SOURCE, content=content,
                                             url=f"https://gazette.example/{n}"))

    async with clean.test_context() as cctx, learn.test_context() as lctx:
        for n in range(20):
            await cctx.put(raw(n, story(n)), key=f"gazette-{n}".encode(), wait=False)
        await sent.wait_for(20, ("articles.clean",))
        # The clean agent sent one observation per source and batch, keyed by source: the learn agent counts them.
        for key, value, _ in sent.by_topic[observations]:
            assert key == b"harbour gazette"
            await lctx.put(orjson.dumps(value), key=key)
        state = decode_state(table.get(b"harbour gazette"))
        assert state.counts[fingerprint(BANNER)] == 20.0
        assert state.counts[fingerprint(ONCE)] == 1.0

        await cctx.put(raw(21, final_story()), key=b"gazette-21", wait=False)
        await sent.wait_for(21, ("articles.clean",))

    records = {r["id"]: r for r in sent.values("articles.clean")}
    assert BANNER in records["gazette-0"]["body"], "no rule knows the banner: the first articles keep it"
    assert records["gazette-0"]["stats"]["learned_removed"] == 0
    last = records["gazette-21"]
    assert BANNER not in last["body"], "learned from 20 articles of the source"
    assert ONCE in last["body"], "a sentence seen in one earlier article is not boilerplate"
    assert last["body"][0].startswith("Two kayakers were rescued")
    assert len(last["body"]) == 4
    assert last["stats"]["learned_removed"] == 1
    assert not sent.by_topic.get("articles.dlq")


async def test_learning_is_per_source(make_raw_article: Any, tmp_path: Any, monkeypatch: Any) -> None:
    settings = load_settings(batch_size=1, batch_window_s=0.05, data_dir=str(tmp_path), learned_min_articles=3)
    app, topics = create_app(settings, "clean")
    clean = register_clean_agent(app, topics, settings, ThreadPoolExecutor(1))
    learn = app.agents["learn-boilerplate"]
    sent = capture(topics, monkeypatch)
    observations = f"{app.conf.id}-learned-observations"
    async with clean.test_context() as cctx, learn.test_context() as lctx:
        for n in range(5):
            value = orjson.dumps(make_raw_article(id=f"g-{n}", source=SOURCE, content=story(n)))
            await cctx.put(value, key=f"g-{n}".encode())
        await sent.wait_for(5, ("articles.clean",))
        for key, value, _ in sent.by_topic[observations]:
            await lctx.put(orjson.dumps(value), key=key)
        other = orjson.dumps(make_raw_article(id="other", source="Another Paper", content=final_story()))
        await cctx.put(other, key=b"other")
        await sent.wait_for(6, ("articles.clean",))
    record = sent.values("articles.clean")[-1]
    assert record["id"] == "other"
    assert BANNER in record["body"], "what one source repeats says nothing about another"
