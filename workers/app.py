"""The Faust application: built in one place from the settings, with the topic declarations of every stage."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from workers.offsets import guard_offsets
from workers.settings import Settings, Stage


@dataclass(frozen=True, slots=True)
class Topics:
    """The Faust topic handles one app uses (raw bytes in and out: stages decode and validate themselves)."""

    raw: faust.TopicT
    clean: faust.TopicT
    enriched: faust.TopicT
    entities: faust.TopicT
    dlq: faust.TopicT


def broker_credentials(settings: Settings) -> Any:
    """Faust credentials for SASL/SSL, passed through from the settings (``None`` for PLAINTEXT)."""
    protocol = settings.security_protocol
    context = None
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=settings.ssl_cafile)
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def create_app(settings: Settings, stage: Stage) -> tuple[faust.App, Topics]:
    """Build the Faust app for one stage: its own app id, so its own consumer group."""
    datadir = Path(settings.data_dir) / stage
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.app_id}-{stage}",
        broker=settings.broker,
        broker_credentials=broker_credentials(settings),
        # Tansu: a group join takes about half the rebalance timeout, so keep it short in development.
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_every=settings.batch_size,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=settings.max_message_bytes,
        producer_acks=-1,
        producer_linger_ms=settings.producer_linger_ms,
        producer_max_request_size=settings.max_message_bytes,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_bind="127.0.0.1",
        datadir=str(datadir),
        store="memory://",
        autodiscover=False,
        stream_publish_on_commit=False,
    )
    guard_offsets(app)
    topics = Topics(
        raw=_topic(app, settings.topic_raw),
        clean=_topic(app, settings.topic_clean),
        enriched=_topic(app, settings.topic_enriched),
        entities=_topic(app, settings.topic_entities),
        dlq=_topic(app, settings.topic_dlq),
    )
    return app, topics


@dataclass(frozen=True, slots=True)
class LearnedState:
    """Where the clean worker keeps boilerplate learned per source (see :mod:`workers.cleaning.learned`)."""

    #: GlobalTable source (utf-8 bytes) -> encoded ``SourceLines``; every instance holds all of it.
    table: Any
    #: Internal topic of per-batch observations keyed by source: one writer per source, co-partitioned
    #: with the table's changelog.
    observations: faust.TopicT


def declare_learned_state(app: faust.App, settings: Settings) -> LearnedState:
    """Declare the learned-boilerplate GlobalTable and its observation topic on the clean app."""
    observations = app.topic(
        f"{app.conf.id}-learned-observations",
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=True,
    )
    table = app.GlobalTable(
        "learned-boilerplate",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        # Faust's advice for GlobalTables (a recovery loop seen with several instances otherwise).
        recovery_buffer_size=1,
        help="Line fingerprint counts per source (workers.cleaning.learned).",
    )
    return LearnedState(table=table, observations=observations)


def _topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
