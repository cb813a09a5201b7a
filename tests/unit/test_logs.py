"""Structured logs: one JSON object per line with the record's coordinates."""

from __future__ import annotations

import logging

import orjson

from workers.logs import JsonFormatter


def test_json_lines_carry_context_fields() -> None:
    record = logging.LogRecord("workers.dlq", logging.WARNING, __file__, 1, "dead-lettered %s", ("x",), None)
    record.__dict__.update({"article_id": "a1", "topic": "articles.raw", "partition": 2, "offset": 9})
    line = orjson.loads(JsonFormatter().format(record))
    assert line["message"] == "dead-lettered x"
    assert line["level"] == "WARNING"
    assert (line["article_id"], line["topic"], line["partition"], line["offset"]) == ("a1", "articles.raw", 2, 9)
    assert line["time"].endswith("+00:00")


def test_exceptions_are_included() -> None:
    error = ValueError("boom")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), (ValueError, error, None))
    line = orjson.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in line["exception"]
