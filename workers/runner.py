"""Running one stage as a Faust worker process: ``wirestream worker clean|tag``."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import faust

from workers import metrics
from workers.app import create_app
from workers.kafka import ensure_topics
from workers.settings import Settings, Stage

if TYPE_CHECKING:
    from workers.tagging.runtime import Tagger

log = logging.getLogger(__name__)


def exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """In a child process: exit as soon as ``parent_pid`` is gone (re-parented), from a daemon thread.

    A ``ProcessPoolExecutor`` child holds both ends of its call queue's pipe, so it never sees EOF when its
    worker is killed with SIGKILL: without this, every ``kill -9`` of a tag worker leaked a process holding a
    loaded spaCy model (found by tests/e2e/test_crash.py).
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="wirestream-parent-watch", daemon=True).start()


def build_tagger(settings: Settings) -> Tagger:
    """Load the model where the settings say spaCy runs (a child process by default)."""
    from workers.tagging.runtime import ProcessTagger, ThreadTagger

    if settings.tag_runtime == "process":
        tagger = ProcessTagger(settings.model, settings.batch_size)
        # One child (max_workers=1), already started by the model load: make it die with this process.
        tagger._executor.submit(exit_with_parent, os.getpid()).result()
        return tagger
    from workers.tagging.model import load_model

    started = time.perf_counter()
    tagger = ThreadTagger(load_model(settings.model), settings.model, settings.batch_size)
    tagger.load_seconds = time.perf_counter() - started
    return tagger


def build_worker(settings: Settings, stage: Stage) -> faust.Worker:
    """Build the Faust worker for ``stage`` (topics ensured, model loaded) without starting it."""
    health = metrics.Health(stage)
    if settings.metrics_port:
        metrics.serve_operations(health, settings.metrics_host, settings.metrics_port)
    asyncio.run(ensure_topics(settings))
    app, topics = create_app(settings, stage)
    if stage == "clean":
        from workers.cleaning.agent import register_clean_agent

        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wirestream-clean")
        register_clean_agent(app, topics, settings, executor)
    else:
        from workers.tagging.agent import register_tag_agent

        tagger = build_tagger(settings)
        metrics.MODEL_LOAD_SECONDS.labels(settings.model).set(tagger.load_seconds)
        log.info("loaded spaCy model %s in %.2fs (%s runtime)", settings.model, tagger.load_seconds,
                 settings.tag_runtime)
        # The child process ends with this one (the executor's exit handler; a closed pipe if killed).
        register_tag_agent(app, topics, settings, tagger)

    @app.on_rebalance_complete.connect
    def _ready(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        assigned = sender.consumer.assignment() if sender.consumer else set()
        health.set_ready(True, f"joined {sender.conf.id} with {len(assigned)} partitions")
        log.info(
            "worker ready: stage=%s group=%s assigned=%d partitions", stage, sender.conf.id, len(assigned)
        )

    @app.on_partitions_revoked.connect
    def _rebalancing(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        health.set_ready(False, "rebalancing")

    @app.timer(interval=1.0)
    async def _heartbeat() -> None:
        health.beat()

    @app.timer(interval=5.0)
    async def _lag() -> None:
        consumer = app.consumer
        read = getattr(consumer, "_read_offset", {})
        metrics.record_lag(stage, consumer.highwater, [(tp, read.get(tp)) for tp in consumer.assignment()])

    worker = faust.Worker(
        app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    # Faust's terminal spinner writes cursor escape codes even when not on a terminal: they would corrupt JSON
    # log lines. Workers are services; no spinner.
    worker.spinner = None
    return worker


def run_worker(settings: Settings, stage: Stage) -> None:
    """Run the worker for ``stage`` until SIGTERM/SIGINT (Faust stops gracefully and commits)."""
    worker = build_worker(settings, stage)
    log.info("starting %s worker %s on %s", stage, settings.worker_id, settings.broker)
    worker.execute_from_commandline()
