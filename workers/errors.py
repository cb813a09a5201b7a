"""The exception hierarchy. Every error knows whether retrying could help (``retriable``) and has a short
machine-readable ``code`` that lands in the dead-letter record."""

from __future__ import annotations


class WirestreamError(Exception):
    """Base of every error wirestream raises on purpose."""

    code = "error"
    retriable = False


class ConfigError(WirestreamError):
    """A setting is missing or invalid; raised at start, before any record is read."""

    code = "config"


class RecordError(WirestreamError):
    """A record cannot be processed as it is: retrying the same bytes gives the same answer."""

    code = "bad_record"


class NotUtf8Error(RecordError):
    """The value is not valid UTF-8 text."""

    code = "not_utf8"


class InvalidJsonError(RecordError):
    """The value claims to be JSON (or looks like a JSON object) but does not parse, or is not an object."""

    code = "invalid_json"


class SchemaError(RecordError):
    """The value parsed but does not match the topic's JSON Schema."""

    code = "schema_invalid"


class UnsupportedVersionError(RecordError):
    """The record carries a ``schema_version`` this worker does not know."""

    code = "unsupported_schema_version"


class EmptyContentError(RecordError):
    """The article has no content to work on."""

    code = "empty_content"


class ContentTooLargeError(RecordError):
    """The value is larger than ``WIRESTREAM_MAX_CONTENT_BYTES``."""

    code = "content_too_large"


class StageCrashError(WirestreamError):
    """An unexpected exception inside a stage function; the record is dead-lettered so the worker goes on."""

    code = "stage_exception"


class TransientError(WirestreamError):
    """A temporary failure (broker unavailable, timeout): retry with backoff before giving up."""

    code = "transient"
    retriable = True
