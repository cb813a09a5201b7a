"""The thin Faust agent around the tagging stage: articles.clean -> articles.enriched (failures -> DLQ)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any, cast

import faust
from spacy.language import Language

from workers import metrics
from workers.app import Topics
from workers.delivery import deliver, source_message
from workers.dlq import Failure, SourceMessage
from workers.settings import Settings
from workers.tagging.stage import ModelInfo, decode_clean, entity_records, tag_records

log = logging.getLogger(__name__)


def tag_batch(
    nlp: Language, messages: Sequence[SourceMessage], model: ModelInfo, batch_size: int
) -> list[tuple[SourceMessage, dict[str, Any] | Failure]]:
    """Decode and tag a batch of clean messages (runs in the executor, off the event loop)."""
    decoded = [(m, decode_clean(m)) for m in messages]
    good = [(m, r) for m, r in decoded if not isinstance(r, Failure)]
    tagged = iter(tag_records(nlp, [r for _, r in good], model, batch_size=batch_size))
    return [(m, r if isinstance(r, Failure) else next(tagged)) for m, r in decoded]


def register_tag_agent(
    app: faust.App, topics: Topics, settings: Settings, executor: Executor, nlp: Language
) -> Any:
    """Attach the tagging agent to ``app``: batches of ``settings.batch_size`` within ``batch_window_s``."""
    model = ModelInfo.of(nlp, settings.model)

    @app.agent(topics.clean, name="tag")
    async def tag(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        # take_events (not take) keeps each value's topic/partition/offset/headers for the DLQ.
        batches = cast(faust.Stream[bytes], stream).take_events
        async for events in batches(settings.batch_size, within=settings.batch_window_s):
            messages = [source_message(event) for event in events]
            started = time.perf_counter()
            pairs = await loop.run_in_executor(
                executor, tag_batch, nlp, messages, model, settings.batch_size
            )
            tagged = time.perf_counter()
            metrics.STAGE_SECONDS.labels("tag", "process").observe(tagged - started)
            outputs, failures = await deliver(
                "tag",
                pairs,
                output=topics.enriched,
                dlq=topics.dlq,
                worker_id=settings.worker_id,
                max_dlq_value_bytes=settings.dlq_max_value_bytes,
                fanout=(topics.entities, entity_records),
            )
            done = time.perf_counter()
            log.info(
                "tagged batch of %d: %d out, %d dead-lettered in %.3fs (tagging %.3fs, delivery %.3fs)",
                len(messages), outputs, failures, done - started, tagged - started, done - tagged,
            )

    return tag
