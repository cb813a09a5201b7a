"""Agent tests: the real Faust agents driven through ``agent.test_context()`` (no broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from workers.app import Topics


@dataclass
class SentRecords:
    """What an agent sent, by topic name."""

    by_topic: dict[str, list[tuple[bytes | None, dict[str, Any], list[tuple[str, bytes]]]]] = field(
        default_factory=dict
    )

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [value for _, value, _ in self.by_topic.get(topic, [])]

    def count(self, topics: tuple[str, ...]) -> int:
        return sum(len(self.by_topic.get(t, [])) for t in topics)

    async def wait_for(
        self, total: int, topics: tuple[str, ...] = ("articles.clean", "articles.enriched", "articles.dlq"),
        timeout: float = 30.0,
    ) -> None:
        """Wait until ``total`` records were sent to ``topics`` (the agent batches off the event loop)."""
        async with asyncio.timeout(timeout):
            while self.count(topics) < total:  # noqa: ASYNC110 - polling a plain list filled by the agent
                await asyncio.sleep(0.01)


def recording_send(sent: SentRecords) -> Any:
    """A stand-in for the app producer's ``send`` that records into ``sent`` and acknowledges like a broker."""

    async def fake_send(
        topic: str, key: Any, value: Any, partition: Any, timestamp: Any, headers: Any, **_: Any
    ) -> asyncio.Future[None]:
        sent.by_topic.setdefault(topic, []).append((key, orjson.loads(value), list(headers or [])))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    return fake_send


@pytest.fixture
def capture_sends(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Replace the app producer's ``send`` with a recorder that acknowledges like a broker would."""

    def install(topics: Topics) -> SentRecords:
        sent = SentRecords()
        monkeypatch.setattr(topics.clean.app.producer, "send", recording_send(sent))
        return sent

    return install
