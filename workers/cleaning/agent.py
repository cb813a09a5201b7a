"""The thin Faust agent around the cleaning stage: articles.raw -> articles.clean (failures -> articles.dlq)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any, cast

import faust

from workers.app import Topics
from workers.cleaning.stage import CleanOptions, clean_article
from workers.delivery import deliver, source_message
from workers.dlq import Failure, SourceMessage
from workers.settings import Settings

log = logging.getLogger(__name__)


def clean_batch(
    messages: Sequence[SourceMessage], options: CleanOptions
) -> list[tuple[SourceMessage, dict[str, Any] | Failure]]:
    """Clean a batch of raw messages (runs in the worker's executor, off the event loop)."""
    return [(message, clean_article(message, options)) for message in messages]


def register_clean_agent(app: faust.App, topics: Topics, settings: Settings, executor: Executor) -> Any:
    """Attach the cleaning agent to ``app``; it consumes ``topics.raw`` in batches."""
    options = CleanOptions(max_content_bytes=settings.max_content_bytes)

    @app.agent(topics.raw, name="clean")
    async def clean(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        # take_events (not take) keeps each value's topic/partition/offset/headers for the DLQ.
        batches = cast(faust.Stream[bytes], stream).take_events
        async for events in batches(settings.batch_size, within=settings.batch_window_s):
            messages = [source_message(event) for event in events]
            pairs = await loop.run_in_executor(executor, clean_batch, messages, options)
            outputs, failures = await deliver(
                "clean",
                pairs,
                output=topics.clean,
                dlq=topics.dlq,
                worker_id=settings.worker_id,
                max_dlq_value_bytes=settings.dlq_max_value_bytes,
            )
            log.info("cleaned batch of %d: %d out, %d dead-lettered", len(messages), outputs, failures)

    return clean
