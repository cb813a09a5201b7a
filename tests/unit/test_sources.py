"""Reading articles from files, directories and stdin for produce/clean/enrich."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from workers.sources import read_sources


def test_directory_yields_articles_and_skips_expected_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Words.\n")
    (tmp_path / "b.html").write_text("<p>Hi</p>")
    (tmp_path / "a.expected.json").write_text("{}")
    (tmp_path / "notes.md").write_text("ignored")
    got = list(read_sources([str(tmp_path)]))
    assert [r.key for r in got] == [b"a", b"b"]
    envelopes = [orjson.loads(r.value) for r in got]
    assert [e["content_type"] for e in envelopes] == ["text/plain", "text/html"]
    assert envelopes[0]["content"] == "Words.\n"


def test_jsonl_lines_are_sent_as_they_are_keyed_by_id(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b'{"id": "x1", "content": "a"}\n\n{"content": "b"}\n')
    got = list(read_sources([str(path)]))
    assert [r.key for r in got] == [b"x1", None]
    assert got[0].value == b'{"id": "x1", "content": "a"}'


def test_raw_flag_sends_bytes_untouched(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(b"<html>\xff</html>")
    (got,) = read_sources([str(path)], raw=True)
    assert got.value == b"<html>\xff</html>"


def test_format_forces_content_type_of_envelopes(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(b'{"id": "z", "content": "<p>x</p>", "content_type": "text/plain"}')
    (got,) = read_sources([str(path)], fmt="html")
    assert orjson.loads(got.value)["content_type"] == "text/html"


def test_stdin_jsonl_and_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"content": "a"}\n{"content": "b"}\n')))
    assert len(list(read_sources(["-"]))) == 2
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Just one article.\nTwo lines.")))
    (only,) = read_sources(["-"])
    assert only.value == b"Just one article.\nTwo lines."


def test_missing_path_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(read_sources(["/nonexistent/wirestream"]))
