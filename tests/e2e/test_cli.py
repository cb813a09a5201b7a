"""The command line as a user runs it: produce, consume, offline clean/enrich, and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, SEEDS
from workers import records
from workers.broker import EmbeddedBroker

pytestmark = pytest.mark.e2e

SEED_COUNT = len([p for p in SEEDS.iterdir() if p.suffix in {".txt", ".html"}])


def _wirestream(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args],
        input=stdin, capture_output=True, timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})},
        check=False,
    )


def test_produce_and_consume_round_trip(tmp_path: Path) -> None:
    with EmbeddedBroker(log_path=tmp_path / "b.log") as broker:
        env = {"WIRESTREAM_BROKER": broker.url}
        produced = _wirestream("produce", str(SEEDS), env=env)
        assert produced.returncode == 0, produced.stderr.decode()
        assert f"produced {SEED_COUNT} records".encode() in produced.stdout
        piped = _wirestream("produce", "-", env=env, stdin=b"A bare article from stdin.\nSecond line.")
        assert piped.returncode == 0, piped.stderr.decode()

        out = _wirestream("consume", "articles.raw", "--from-beginning", "--limit", str(SEED_COUNT + 1), env=env)
        assert out.returncode == 0, out.stderr.decode()
        lines = [orjson.loads(line) for line in out.stdout.splitlines()]
        assert len(lines) == SEED_COUNT + 1
        keys = {line["key"] for line in lines}
        assert "01-bristol-harbour-budget" in keys
        bare = next(line for line in lines if line["key"] is None)
        assert bare["value"] == "A bare article from stdin.\nSecond line."

        idle = _wirestream("consume", "articles.dlq", "--from-beginning", "--timeout", "1", env=env, timeout=60)
        assert idle.returncode == 0 and idle.stdout == b"", "an empty topic ends after --timeout with no output"


def test_offline_clean_and_enrich(tmp_path: Path) -> None:
    out = tmp_path / "clean.jsonl"
    clean = _wirestream("clean", str(SEEDS), "--out", str(out))
    assert clean.returncode == 0, clean.stderr.decode()
    cleaned = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(cleaned) == SEED_COUNT
    for record in cleaned:
        records.validate("clean", record)

    enriched_path = tmp_path / "enriched.jsonl"
    reference = REPO.parent / "shared" / "reference" / "seed-article.txt"
    enrich = _wirestream("enrich", str(reference), str(SEEDS / "02-nordvik-ohio-chip-plant.txt"),
                         "--out", str(enriched_path))
    assert enrich.returncode == 0, enrich.stderr.decode()
    enriched = [orjson.loads(line) for line in enriched_path.read_bytes().splitlines()]
    assert [r["id"] for r in enriched] == ["seed-article", "02-nordvik-ohio-chip-plant"]
    for record in enriched:
        records.validate("enriched", record)
    names = {e["name"] for e in enriched[0]["entities"]}
    assert {"Fumio Kishida", "Giorgia Meloni", "Belt and Road Initiative"} <= names

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "x", "content": 5}\n')
    failed = _wirestream("clean", str(bad))
    assert failed.returncode == 1
    assert b"schema_invalid" in failed.stderr


def test_demo_prints_every_seed_and_the_dead_letter() -> None:
    demo = _wirestream("demo", timeout=600)
    assert demo.returncode == 0, demo.stderr.decode()[-3000:]
    text = demo.stdout.decode()
    for seed in SEEDS.iterdir():
        if seed.suffix in {".txt", ".html"}:
            assert f"── {seed.stem}" in text, seed.stem
    assert "dead letter from clean stage" in text
    assert f"{SEED_COUNT} enriched records, 1 dead letter(s)" in text
    assert "exit codes {'clean': 0, 'tag': 0}" in text
