"""Logging setup shared by every wirestream command."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Send log records to stderr in one plain format; quieten chatty client libraries."""
    logging.basicConfig(level=level, format=FORMAT, stream=sys.stderr, force=True)
    for noisy in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
