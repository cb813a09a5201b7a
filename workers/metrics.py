"""Operations: Prometheus metrics, ``/healthz`` and ``/readyz`` on one HTTP port per worker.

The HTTP server runs in a daemon thread (stdlib ``ThreadingHTTPServer``) so a scrape never competes with the
event loop; liveness is still the event loop's: the worker beats :func:`Health.beat` from a timer on the loop,
and ``/healthz`` fails when that beat is older than ``stale_after`` seconds (a blocked or dead loop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

RECORDS_IN = Counter(
    "wirestream_records_in", "Records read by a stage.", ["stage"], registry=REGISTRY
)
RECORDS_OUT = Counter(
    "wirestream_records_out", "Records produced by a stage, by topic.", ["stage", "topic"], registry=REGISTRY
)
DEAD_LETTERED = Counter(
    "wirestream_records_dead_lettered",
    "Records a stage sent to the dead-letter topic, by error type.",
    ["stage", "error_type"],
    registry=REGISTRY,
)
DUPLICATES_SKIPPED = Counter(
    "wirestream_duplicates_skipped",
    "Records a stage skipped because it already delivered the same article with the same content.",
    ["stage"],
    registry=REGISTRY,
)
OFFSETS_REREAD = Counter(
    "wirestream_offsets_reread",
    "Offsets the Faust consumer skipped without delivering them, sought back to and read again (workers.offsets).",
    ["topic"],
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "wirestream_stage_seconds",
    "Seconds a stage spent on one batch, by phase (process = the stage function, deliver = produce + acks).",
    ["stage", "phase"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
RECORD_LATENCY = Histogram(
    "wirestream_record_latency_seconds",
    "Seconds from a record's timestamp on its input topic to its output being acknowledged.",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "wirestream_batch_size",
    "Records per batch.",
    ["stage"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "wirestream_consumer_lag",
    "Records behind the partition's high watermark (approximate on the embedded Tansu broker).",
    ["stage", "topic", "partition"],
    registry=REGISTRY,
)
MODEL_LOAD_SECONDS = Gauge(
    "wirestream_model_load_seconds", "Seconds the spaCy model took to load.", ["model"], registry=REGISTRY
)
READY = Gauge("wirestream_ready", "1 when the worker has joined its group (and loaded its model).", ["stage"],
              registry=REGISTRY)


class Health:
    """Liveness (event-loop heartbeat) and readiness (group joined, model loaded) of one worker."""

    def __init__(self, stage: str, stale_after: float = 30.0) -> None:
        self.stage = stage
        self.stale_after = stale_after
        self._beat = time.monotonic()
        self._ready = False
        self.reason = "starting"

    def beat(self) -> None:
        """Called from the event loop: it is alive."""
        self._beat = time.monotonic()

    def set_ready(self, ready: bool, reason: str = "") -> None:
        """Mark the worker ready (joined its group with partitions, model loaded) or not."""
        self._ready = ready
        self.reason = reason or ("ready" if ready else "not ready")
        READY.labels(self.stage).set(1 if ready else 0)

    @property
    def alive(self) -> bool:
        """True while the event loop beat recently."""
        return time.monotonic() - self._beat < self.stale_after

    @property
    def ready(self) -> bool:
        """True when alive and ready."""
        return self._ready and self.alive


def _handler(health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif self.path.startswith("/healthz"):
                ok = health.alive
                self._reply(200 if ok else 503, b"ok\n" if ok else b"event loop stalled\n")
            elif self.path.startswith("/readyz"):
                ok = health.ready
                self._reply(200 if ok else 503, (health.reason + "\n").encode())
            else:
                self._reply(404, b"not found\n")

        def _reply(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http %s", format % args)

    return Handler


def serve_operations(health: Health, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` from a daemon thread."""
    server = ThreadingHTTPServer((host, port), _handler(health))
    thread = threading.Thread(target=server.serve_forever, name="wirestream-ops", daemon=True)
    thread.start()
    log.info("metrics and health on http://%s:%d/metrics /healthz /readyz", host, server.server_address[1])
    return server


def record_lag(stage: str, highwater: Callable[[Any], int], positions: Iterable[tuple[Any, int | None]]) -> None:
    """Set the lag gauge for each ``(tp, last_read_offset)`` given the partitions' high watermarks."""
    for tp, read in positions:
        try:
            high = highwater(tp)
        except Exception:  # noqa: BLE001, S112 - no high watermark known yet for this partition
            continue
        if high is None:
            continue
        lag = max(0, int(high) - (read + 1 if read is not None else 0))
        CONSUMER_LAG.labels(stage, tp.topic, str(tp.partition)).set(lag)
