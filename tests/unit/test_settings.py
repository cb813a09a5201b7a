"""The settings object: env parsing, validation with messages that name the variable."""

from __future__ import annotations

import pytest

from workers.errors import ConfigError
from workers.settings import load_settings


def test_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("WIRESTREAM_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.topic_raw == "articles.raw"
    assert settings.bootstrap_servers == ["127.0.0.1:9092"]


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRESTREAM_BROKER", "kafka://a:1;b:2")
    monkeypatch.setenv("WIRESTREAM_BATCH_SIZE", "7")
    monkeypatch.setenv("WIRESTREAM_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.bootstrap_servers == ["a:1", "b:2"]
    assert settings.batch_size == 7
    assert settings.log_level == "DEBUG"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.batch_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("WIRESTREAM_BROKER", "localhost:9092", "WIRESTREAM_BROKER"),
        ("WIRESTREAM_TOPIC_RAW", "articles_raw", "WIRESTREAM_TOPIC_RAW"),
        ("WIRESTREAM_BATCH_SIZE", "0", "WIRESTREAM_BATCH_SIZE"),
        ("WIRESTREAM_BATCH_WINDOW_S", "soon", "WIRESTREAM_BATCH_WINDOW_S"),
        ("WIRESTREAM_SECURITY_PROTOCOL", "SASL_SSL", "SASL"),
    ],
)
def test_bad_values_fail_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_topics_must_be_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRESTREAM_TOPIC_CLEAN", "articles.raw")
    with pytest.raises(ConfigError, match="distinct"):
        load_settings()
