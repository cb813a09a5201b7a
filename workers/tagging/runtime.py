"""Where spaCy runs in a tag worker: never on the event loop.

:class:`ProcessTagger` (the default) keeps the model in one child process: spaCy gets a core to itself, the
worker's event loop (fetching, producing, heartbeats) never competes with it for the GIL, and a batch of very long
articles cannot starve the consumer-group heartbeat. :class:`ThreadTagger` runs it in a thread of the worker
process (tests, and hosts where a second process is unwanted). Both load the model once and run
:func:`tag_batch`, so the stage code is the same.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Protocol

from spacy.language import Language

from workers.dlq import Failure, SourceMessage
from workers.tagging.model import load_model
from workers.tagging.stage import ModelInfo, Recognised, assemble_records, decode_clean, recognise_records

log = logging.getLogger(__name__)

Pairs = list[tuple[SourceMessage, dict[str, Any] | Failure]]


Recognition = list[tuple[SourceMessage, Recognised | Failure]]


def recognise_batch(nlp: Language, messages: Sequence[SourceMessage], batch_size: int) -> Recognition:
    """Decode a batch of clean messages and run the model over them (the CPU-heavy half)."""
    decoded = [(m, decode_clean(m)) for m in messages]
    good = [r for _, r in decoded if not isinstance(r, Failure)]
    recognised = iter(recognise_records(nlp, good, batch_size=batch_size))
    return [(m, r if isinstance(r, Failure) else next(recognised)) for m, r in decoded]


def assemble_batch(recognition: Recognition, model: ModelInfo) -> Pairs:
    """Entities and enriched records for a recognised batch (pure Python, no model)."""
    outcomes = assemble_records([r for _, r in recognition], model)
    return [(m, o) for (m, _), o in zip(recognition, outcomes, strict=True)]


def tag_batch(nlp: Language, messages: Sequence[SourceMessage], model: ModelInfo, batch_size: int) -> Pairs:
    """Decode and tag a batch of clean messages: one outcome (enriched record or failure) per message."""
    return assemble_batch(recognise_batch(nlp, messages, batch_size), model)


class Tagger(Protocol):
    """Runs :func:`tag_batch` off the event loop."""

    model: ModelInfo
    load_seconds: float

    async def recognise(self, messages: Sequence[SourceMessage]) -> Recognition:
        """Run the model over one batch, off the event loop."""
        ...

    async def assemble(self, recognition: Recognition) -> Pairs:
        """Merge entities and build the records of a recognised batch, off the event loop."""
        ...

    def close(self) -> None:
        """Release the executor."""
        ...


class ThreadTagger:
    """spaCy in a single worker thread of this process."""

    def __init__(self, nlp: Language, package: str, batch_size: int) -> None:
        self.nlp = nlp
        self.model = ModelInfo.of(nlp, package)
        self.batch_size = batch_size
        self.load_seconds = 0.0
        self._executor: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wirestream-tag")

    async def recognise(self, messages: Sequence[SourceMessage]) -> Recognition:
        """Run the model over one batch in the thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, recognise_batch, self.nlp, list(messages), self.batch_size)

    async def assemble(self, recognition: Recognition) -> Pairs:
        """Build the records in the same thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, assemble_batch, recognition, self.model)

    def close(self) -> None:
        """Stop the thread."""
        self._executor.shutdown(wait=True)


# --- child-process side --------------------------------------------------------------------------------------
_CHILD: dict[str, Any] = {}


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


def _load_in_child(package: str, batch_size: int, parent_pid: int) -> None:
    exit_with_parent(parent_pid)
    nlp = load_model(package)
    _CHILD.update(nlp=nlp, model=ModelInfo.of(nlp, package), batch_size=batch_size)


def _describe_child() -> ModelInfo:
    model: ModelInfo = _CHILD["model"]
    return model


def _recognise_in_child(messages: list[SourceMessage]) -> Recognition:
    return recognise_batch(_CHILD["nlp"], messages, _CHILD["batch_size"])


class ProcessTagger:
    """spaCy in one child process that loads the model once (``spawn``: no forked event-loop state)."""

    def __init__(self, package: str, batch_size: int) -> None:
        started = time.perf_counter()
        self._executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_in_child,
            initargs=(package, batch_size, os.getpid()),
        )
        # Wait for the model now, so a worker is only ready once its model is loaded (and fails fast if not).
        self.model = self._executor.submit(_describe_child).result()
        self.load_seconds = time.perf_counter() - started
        # Merging runs in a thread of this process, so the child can start the next batch meanwhile.
        self._assembler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wirestream-assemble")

    async def recognise(self, messages: Sequence[SourceMessage]) -> Recognition:
        """Run the model over one batch in the child process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _recognise_in_child, list(messages))

    async def assemble(self, recognition: Recognition) -> Pairs:
        """Build the records in a thread of this process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._assembler, assemble_batch, recognition, self.model)

    def close(self) -> None:
        """Stop the child process and the thread."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._assembler.shutdown(wait=True)
