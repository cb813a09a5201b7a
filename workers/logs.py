"""Logging setup shared by every wirestream command: plain text, or one JSON object per line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"

#: Context fields a log call may pass with ``extra=``; JSON lines carry them as top-level keys.
CONTEXT_FIELDS = ("article_id", "topic", "partition", "offset", "stage", "error_type")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid, context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a compact JSON line."""
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def configure_logging(level: str = "INFO", fmt: str = "text", library_level: str = "WARNING") -> None:
    """Send log records to stderr (text or JSON lines); client libraries log at ``library_level`` at most."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(library_level), logging.getLevelName(level)))
