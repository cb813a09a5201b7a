"""Plain aiokafka clients for the CLI and tests: topic creation, producing and consuming records."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from workers.errors import TransientError
from workers.settings import Settings

log = logging.getLogger(__name__)


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection options shared by every aiokafka client (bootstrap servers and SASL/SSL pass-through)."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol.endswith("SSL"):
        kwargs["ssl_context"] = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password
    return kwargs


def pipeline_topics(settings: Settings) -> list[str]:
    """The topics of the pipeline."""
    return [
        settings.topic_raw,
        settings.topic_clean,
        settings.topic_enriched,
        settings.topic_entities,
        settings.topic_dlq,
    ]


async def ensure_topics(settings: Settings, names: Iterable[str] | None = None, *, timeout: float = 60.0) -> None:
    """Create the pipeline topics if missing, retrying with backoff while the broker is unreachable."""
    wanted = list(names) if names is not None else pipeline_topics(settings)
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        admin = AIOKafkaAdminClient(**client_kwargs(settings))
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [n for n in wanted if n not in existing]
            if missing:
                new = [NewTopic(n, settings.partitions, settings.replication_factor) for n in missing]
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
                log.info("created topics %s (%d partitions)", missing, settings.partitions)
        except (KafkaConnectionError, KafkaError, OSError) as exc:
            if time.monotonic() + delay > deadline:
                raise TransientError(f"broker {settings.broker} unreachable for {timeout:.0f}s: {exc}") from exc
            log.warning("broker %s not reachable yet (%s); retrying in %.1fs", settings.broker, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            return
        finally:
            await admin.close()


async def existing_topics(settings: Settings, *, timeout: float = 10.0) -> set[str]:
    """The topic names the broker knows now; raises :class:`TransientError` if it cannot be asked in time."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            return set(await admin.list_topics())
    except (KafkaConnectionError, KafkaError, OSError, TimeoutError) as exc:
        raise TransientError(f"broker {settings.broker} did not answer a metadata request: {exc!r}") from exc
    finally:
        await admin.close()


async def committed_offsets(
    settings: Settings, group_id: str, topics: Iterable[str], *, timeout: float = 10.0
) -> dict[tuple[str, int], int]:
    """The offsets consumer group ``group_id`` has committed on ``topics``, by (topic, partition); partitions
    without a commit are left out. Raises :class:`TransientError` if the broker cannot be asked in time.

    Asks for explicit partitions: Tansu closes the connection on an OffsetFetch for "all partitions".
    """
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            described = await admin.describe_topics(list(topics))
            partitions = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
            offsets = await admin.list_consumer_group_offsets(group_id, partitions=partitions) if partitions else {}
    except (KafkaConnectionError, KafkaError, OSError, TimeoutError) as exc:
        raise TransientError(f"broker {settings.broker} did not answer an offset request: {exc!r}") from exc
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def make_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """A producer with ``acks=all`` (idempotent when the broker supports it, see the settings)."""
    kwargs = client_kwargs(settings)
    kwargs.update(
        acks="all",
        enable_idempotence=settings.producer_idempotence,
        max_request_size=settings.max_message_bytes,
    )
    kwargs.update(overrides)
    return AIOKafkaProducer(**kwargs)


async def consume_records(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = True,
    limit: int | None = None,
    idle_timeout: float | None = None,
    group_id: str | None = None,
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Yield records of ``topic`` until ``limit`` records or ``idle_timeout`` seconds with no new record."""
    consumer = AIOKafkaConsumer(
        topic,
        **client_kwargs(settings),
        group_id=group_id,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=group_id is not None,
        fetch_max_bytes=settings.max_message_bytes,
        max_partition_fetch_bytes=settings.max_message_bytes,
    )
    await consumer.start()
    try:
        seen = 0
        last = time.monotonic()
        while limit is None or seen < limit:
            batch = await consumer.getmany(timeout_ms=200)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                if idle_timeout is not None and time.monotonic() - last > idle_timeout:
                    return
                continue
            last = time.monotonic()
            for record in records:
                yield record
                seen += 1
                if limit is not None and seen >= limit:
                    return
    finally:
        await consumer.stop()
