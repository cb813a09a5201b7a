"""Dead letters: everything needed to replay, valid against the DLQ schema."""

from __future__ import annotations

import base64
from typing import Any

from workers import records
from workers.dlq import Failure, dead_letter, headers_from, run_guarded
from workers.errors import InvalidJsonError, StageCrashError


def test_dead_letter_carries_original_bytes_and_coordinates(make_message: Any) -> None:
    message = make_message(b"\xff\x00 original", offset=41, partition=2, headers=(("traceparent", b"00-ab"),))
    failure = Failure(InvalidJsonError("nope"))
    letter = dead_letter("clean", failure, message, worker_id="w1", max_value_bytes=1000)
    records.validate("dlq", letter)
    assert base64.b64decode(letter["value"]) == b"\xff\x00 original"
    assert base64.b64decode(letter["key"]) == b"k"
    assert letter["source"] == {"topic": "articles.raw", "partition": 2, "offset": 41, "timestamp": None}
    assert letter["error"] == {
        "type": "invalid_json",
        "class": "InvalidJsonError",
        "message": "nope",
        "retriable": False,
    }
    assert letter["headers"] == [{"key": "traceparent", "value": base64.b64encode(b"00-ab").decode()}]
    assert letter["value_truncated"] is False


def test_oversized_values_are_truncated_but_fingerprinted(make_message: Any) -> None:
    value = b"y" * 5000
    failure = Failure(InvalidJsonError("big"))
    letter = dead_letter("tag", failure, make_message(value), worker_id="w", max_value_bytes=100)
    assert letter["value_truncated"] is True
    assert letter["value_size"] == 5000
    assert len(base64.b64decode(letter["value"])) == 100
    records.validate("dlq", letter)


def test_run_guarded_turns_any_exception_into_a_failure() -> None:
    def boom() -> int:
        raise ZeroDivisionError("division by zero")

    outcome = run_guarded(boom)
    assert isinstance(outcome, Failure)
    assert isinstance(outcome.error, StageCrashError)
    assert "ZeroDivisionError" in str(outcome.error)
    assert run_guarded(lambda: 3) == 3


def test_headers_are_normalised() -> None:
    assert headers_from({"a": "x", "b": None}) == (("a", b"x"), ("b", b""))
    assert headers_from([(b"k", b"v")]) == (("k", b"v"),)
    assert headers_from(None) == ()
