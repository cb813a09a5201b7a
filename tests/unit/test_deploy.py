"""The container files, checked as far as a machine without a Docker daemon allows."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from workers.cli import build_parser
from workers.settings import Settings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _env_names(service: dict[str, Any]) -> set[str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {item.split("=", 1)[0] for item in env}
    return set(env)


def test_compose_has_broker_topics_and_one_service_per_stage(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "topics", "cleaner", "tagger"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert "healthcheck" in services["kafka"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("cleaner", "tagger"):
        deps = services[name]["depends_on"]
        assert deps["kafka"]["condition"] == "service_healthy"
        assert deps["topics"]["condition"] == "service_completed_successfully"
        # Scaling (`--scale tagger=3`) needs no fixed container name or host port on the workers.
        assert "container_name" not in services[name]
        assert "ports" not in services[name]


def test_worker_healthchecks_probe_the_configured_metrics_port(compose: dict[str, Any]) -> None:
    for name in ("cleaner", "tagger"):
        service = compose["services"][name]
        port = service["environment"]["WIRESTREAM_METRICS_PORT"]
        probe = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/readyz" in probe
        assert service["environment"]["WIRESTREAM_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - inside a container


def test_every_wirestream_env_var_is_a_real_setting(compose: dict[str, Any]) -> None:
    known = {f"WIRESTREAM_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for var in _env_names(service):
            if var.startswith("WIRESTREAM_"):
                assert var in known, f"{name}: {var} is not a field of workers.settings.Settings"


def test_compose_env_values_validate(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose["services"]["tagger"]["environment"]
    for var, value in env.items():
        monkeypatch.setenv(var, str(value))
    settings = Settings()
    assert settings.partitions >= 3, "scaling the tagger to 3 instances needs at least 3 partitions"


def test_service_commands_are_real_cli_commands(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in ("topics", "cleaner", "tagger"):
        args = parser.parse_args(compose["services"][name]["command"])
        assert callable(args.func)


def test_dockerfile_entrypoint_and_default_command_parse() -> None:
    text = (REPO / "Dockerfile").read_text()
    entry = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert entry and cmd
    assert yaml.safe_load(entry.group(1)) == ["wirestream"]
    build_parser().parse_args(yaml.safe_load(cmd.group(1)))
    assert re.search(r"^USER wirestream$", text, re.M), "the image must not run as root"
    assert text.count("FROM ") >= 2, "multi-stage build expected"
    assert "requirements/model.txt" in text, "the spaCy model must be baked in at build time"


def test_dockerfile_copies_what_the_package_needs() -> None:
    text = (REPO / "Dockerfile").read_text()
    copied = {shlex.split(line)[1] for line in text.splitlines() if line.startswith("COPY ") and "--from" not in line}
    for needed in ("pyproject.toml", "requirements", "workers", "schemas"):
        assert needed in copied, f"Dockerfile does not COPY {needed}"
