"""Running one stage as a Faust worker process: ``wirestream worker clean|tag``."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import faust

from workers import metrics
from workers.app import create_app
from workers.errors import TransientError
from workers.kafka import committed_offsets, ensure_topics, existing_topics, pipeline_topics
from workers.settings import Settings, Stage

if TYPE_CHECKING:
    from workers.tagging.runtime import Tagger

log = logging.getLogger(__name__)

#: Seconds between checks that the pipeline topics still exist on the broker (short: see TopicWatchdog).
TOPIC_CHECK_INTERVAL_S = 2.0
#: Consecutive failed checks (broker unreachable) before the worker exits non-zero (about two minutes).
TOPIC_CHECK_MAX_FAILURES = 60
#: Exit code of a worker that lost its broker's state or gave up on it (EX_TEMPFAIL: restart it).
EXIT_BROKER_LOST = 75


class TopicWatchdog:
    """Notices the broker losing its topics (the embedded broker keeps them in memory) and restarts the worker.

    After such a restart a running worker rejoins its group but holds stale state: read and committed offsets
    (and table changelog offsets) of topics that now start again at 0. Left alone it skips the new records below
    its remembered offsets, may commit those stale offsets into the new group (so even a fresh worker skips
    records), or crashes in table recovery; nothing recreates the topics with the configured partitions (a
    producer may auto-create them with the broker's defaults). So on missing topics the watchdog recreates them,
    logs why, and exits with ``EXIT_BROKER_LOST``: a supervisor restarts the worker with fresh state. The checks
    are frequent so this happens before the group rejoin (about half the rebalance timeout) lets it commit.

    A worker whose topics another worker already recreated notices the loss another way: its consumer group's
    committed offsets went backwards or vanished (on a broker that keeps its state they only grow).

    An unreachable broker is logged at every check and, after ``TOPIC_CHECK_MAX_FAILURES`` checks in a row,
    also ends the worker non-zero, rather than leaving it hanging silently.
    """

    def __init__(self, settings: Settings, stage: Stage, group_id: str) -> None:
        self.settings = settings
        self.stage = stage
        self.group_id = group_id
        self.source = settings.topic_raw if stage == "clean" else settings.topic_clean
        self.failures = 0
        self.committed: dict[tuple[str, int], int] = {}

    async def check(self) -> None:
        """One check (run from an app timer)."""
        settings = self.settings
        try:
            missing = [t for t in pipeline_topics(settings) if t not in await existing_topics(settings)]
        except TransientError as exc:
            self.failures += 1
            log.warning("topic check %d/%d failed: %s", self.failures, TOPIC_CHECK_MAX_FAILURES, exc)
            if self.failures >= TOPIC_CHECK_MAX_FAILURES:
                self._exit(f"broker {settings.broker} unreachable for {self.failures} checks")
            return
        self.failures = 0
        if not missing:
            try:
                committed = await committed_offsets(settings, self.group_id, [self.source])
            except TransientError as exc:  # reachable a moment ago: log, do not count as the broker being down
                log.warning("could not read the committed offsets of %s: %s", self.group_id, exc)
                return
            went_back = {
                tp: (seen, committed.get(tp)) for tp, seen in self.committed.items() if committed.get(tp, -1) < seen
            }
            if went_back:
                self._exit(
                    f"committed offsets of group {self.group_id} went back or vanished on broker {settings.broker} "
                    f"(it lost its state: restarted with in-memory storage?): (seen, now) {went_back}"
                )
            for tp, offset in committed.items():
                self.committed[tp] = max(offset, self.committed.get(tp, offset))
            return
        log.critical(
            "topics %s are missing on broker %s: it lost its state (restarted with in-memory storage?); "
            "recreating them, then exiting so a supervisor restarts this %s worker with fresh offsets",
            missing,
            settings.broker,
            self.stage,
        )
        try:
            await ensure_topics(settings, missing, timeout=10.0)
        except TransientError as exc:
            log.warning("could not recreate topics %s: %s", missing, exc)
        self._exit(f"broker {settings.broker} lost topics {missing}")

    def _exit(self, why: str) -> None:
        log.critical("%s; exiting %d so a supervisor restarts this %s worker", why, EXIT_BROKER_LOST, self.stage)
        logging.shutdown()
        os._exit(EXIT_BROKER_LOST)


#: Exit code of a worker whose agent raised (EX_SOFTWARE).
EXIT_AGENT_CRASHED = 70


async def exit_on_agent_crash(agent: Any, exc: BaseException) -> None:
    """Faust ``on_error`` for every agent: an exception escaping an agent loop ends the worker, non-zero.

    Left to Faust, the crashed actor is restarted in the same process, and the ``take_events`` generator it was
    iterating acks the batch being processed when it is finalised, so offsets of records whose outputs were never
    acknowledged become committable: records lost (found by tests/e2e/test_broker_outage.py, where a produce
    failed with ``UnknownError`` after a broker restart). Exiting here, while the exception still holds that
    generator, commits nothing more; a supervisor restarts the worker and the batch is processed again.
    """
    log.critical(
        "agent %s crashed (%s: %s); exiting %d without committing its batch, so that a supervisor restarts this "
        "worker and the batch is processed again",
        getattr(agent, "name", agent),
        type(exc).__name__,
        exc,
        EXIT_AGENT_CRASHED,
        exc_info=exc,
    )
    logging.shutdown()
    os._exit(EXIT_AGENT_CRASHED)


def build_tagger(settings: Settings) -> Tagger:
    """Load the model where the settings say spaCy runs (a child process by default)."""
    from workers.tagging.runtime import ProcessTagger, ThreadTagger

    if settings.tag_runtime == "process":
        return ProcessTagger(settings.model, settings.batch_size)
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
        dedupe = None
        if settings.dedupe_enabled:
            from workers.dedupe import attach_deduplicator

            # Salted with the model: switching models re-tags articles seen before.
            dedupe = attach_deduplicator(app, settings.partitions, settings.dedupe_ids_per_partition, settings.model)
        # The child process ends with this one (the executor's exit handler; a closed pipe if killed).
        register_tag_agent(app, topics, settings, tagger, dedupe)

    for agent in app.agents.values():
        agent._on_error = exit_on_agent_crash

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

    watchdog = TopicWatchdog(settings, stage, app.conf.id)

    @app.timer(interval=TOPIC_CHECK_INTERVAL_S)
    async def _topics() -> None:
        await watchdog.check()

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
    if stage == "clean":
        from workers.cleaning.native import describe

        log.debug(describe())
    worker.execute_from_commandline()
