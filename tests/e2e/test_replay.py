"""DLQ replay: a record rejected by one configuration comes through after the fix and a replay."""

from __future__ import annotations

import asyncio
import base64

import pytest

from tests.e2e.conftest import Pipeline, decode
from workers.replay import REPLAY_HEADER, replay_dead_letters

pytestmark = pytest.mark.e2e


def test_rejected_article_is_replayed_after_raising_the_limit(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    big = b"Harbour workers ended their strike on Tuesday after a new offer. " * 4000  # ~260 KB > 200 KB limit
    asyncio.run(pipeline.produce([(b"big-one", big), (b"bad-json", b'{"content": ')]))
    pipeline.start("clean")
    got = asyncio.run(pipeline.collect([settings.topic_dlq], lambda g: len(g[settings.topic_dlq]) >= 2))
    letters = [decode(r) for r in got[settings.topic_dlq]]
    assert sorted(d["error"]["type"] for d in letters) == ["content_too_large", "invalid_json"]
    assert pipeline.stop_all() == {"clean": 0}

    # The fix: a larger limit. Restart the worker with it and replay only the oversized record's stage/type.
    pipeline.env["WIRESTREAM_MAX_CONTENT_BYTES"] = "1000000"
    pipeline.start("clean", name="clean-fixed")
    summary = asyncio.run(replay_dead_letters(settings, stage="clean", idle_timeout=2.0))
    assert summary.read == 2
    assert summary.replayed[settings.topic_raw] == 2  # both go back; the broken JSON fails again

    got = asyncio.run(
        pipeline.collect(
            [settings.topic_clean, settings.topic_dlq],
            lambda g: len(g[settings.topic_clean]) >= 1 and len(g[settings.topic_dlq]) >= 3,
        )
    )
    (clean,) = got[settings.topic_clean]
    assert decode(clean)["id"].startswith("c-")
    assert decode(clean)["body"], "the replayed article was cleaned"
    again = [decode(r) for r in got[settings.topic_dlq]][2:]
    assert [d["error"]["type"] for d in again] == ["invalid_json"]
    replayed_from = {h["key"]: base64.b64decode(h["value"]) for h in again[0]["headers"]}
    assert replayed_from[REPLAY_HEADER].startswith(settings.topic_dlq.encode())

    dry = asyncio.run(replay_dead_letters(settings, stage="tag", idle_timeout=1.0, dry_run=True))
    assert sum(dry.replayed.values()) == 0
    assert dry.skipped["other stage"] == 3
