"""The cleaning agent: good records to articles.clean, bad ones to the DLQ, and the loop keeps going."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from workers.app import create_app
from workers.cleaning.agent import register_clean_agent
from workers.settings import load_settings


async def test_clean_agent_routes_good_and_bad_records(
    make_raw_article: Any, capture_sends: Any, tmp_path: Any
) -> None:
    settings = load_settings(batch_size=1, batch_window_s=0.05, data_dir=str(tmp_path))
    app, topics = create_app(settings, "clean")
    agent = register_clean_agent(app, topics, settings, ThreadPoolExecutor(1))
    sent = capture_sends(topics)
    good = make_raw_article()
    async with agent.test_context() as ctx:
        await ctx.put(b'{"content": "trunc', key=b"bad-1", headers=[("traceparent", b"00-1-2-01")])
        await ctx.put(orjson.dumps(good), key=b"harbour-strike", headers=[("traceparent", b"00-aa-bb-01")])
        await ctx.put(b"\xff\xfe not utf-8", key=b"bad-2")
        await ctx.put(orjson.dumps(make_raw_article(id="second")), key=b"second")
        await sent.wait_for(4)
    clean = sent.values("articles.clean")
    dlq = sent.values("articles.dlq")
    assert [r["id"] for r in clean] == ["harbour-strike", "second"]
    assert [d["error"]["type"] for d in dlq] == ["invalid_json", "not_utf8"]
    keys = [k for k, _, _ in sent.by_topic["articles.clean"]]
    assert keys == [b"harbour-strike", b"second"]
    # W3C trace context travels with the article; the dead letter keeps all original headers.
    assert sent.by_topic["articles.clean"][0][2] == [("traceparent", b"00-aa-bb-01")]
    assert dlq[0]["headers"][0]["key"] == "traceparent"
