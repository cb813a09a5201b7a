"""Score the cleaning stage on the dev set, per track, next to trafilatura.

    python -m workers.cleaning.evaluation --dev ../shared/eval/cleaning/dev.jsonl [--track text|html|both]

For each track it runs ``extract_articles`` over every page, in batches of the stream worker's batch size (the
code path of the clean agent), writes predictions
(``{"id", "body": "\\n".join(paragraphs)}``) as JSONL, runs the benchmark's ``score.py`` (found next to
``--dev``) as a subprocess, and prints one table: track, F1, P, R, pages/s. Speed is the best of five runs
over all pages, one process on one core, as wall time and as CPU time of the extraction calls (language, date
and byline extraction included). The HTML track is also run through trafilatura on the same pages in the same
run, with the speed ratio ours/trafilatura.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from workers.cleaning.extract import ArticleInput, extract_article, extract_articles
from workers.cleaning.language import detect_language
from workers.cleaning.native import describe
from workers.settings import Settings

__all__ = ["TrackScore", "main", "score_predictions"]

logger = logging.getLogger(__name__)

_SCORE_LINE_RE = re.compile(r"^set all n \d+ P ([\d.]+) R ([\d.]+) F1 ([\d.]+)", re.MULTILINE)
_CONTENT_TYPES = {"text": "text/plain", "html": "text/html"}


@dataclass(frozen=True, slots=True)
class TrackScore:
    """One row of the evaluation table."""

    name: str
    f1: float
    precision: float
    recall: float
    pages_per_second: float
    """Wall clock, best of ``_RUNS``."""
    cpu_pages_per_second: float
    """Process CPU time, best of ``_RUNS``."""


def load_pages(path: Path) -> list[dict[str, Any]]:
    """Read the dev JSONL pages."""
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


_RUNS = 5
"""Passes over the pages per track; the fastest counts (as ``timeit`` does: slower passes measure other
load on the machine, not the code). Shared VMs drift by ±25% over minutes, so more passes give a steadier figure."""
Extractor = Callable[[Sequence[tuple[str, str | None]]], list[list[str]]]
"""Body paragraphs of a batch of (content, url) pages."""


def _timed_predictions(
    pages: Sequence[dict[str, Any]], field: str, extract_bodies: Extractor, batch_size: int
) -> tuple[list[dict[str, str]], float, float]:
    """Predictions for every page, and pages/s by wall clock and by CPU time (best of ``_RUNS`` runs)."""
    items = [(page[field], page.get("url")) for page in pages]
    best_wall = best_cpu = float("inf")
    bodies: list[list[str]] = []
    for _ in range(_RUNS):
        bodies, wall, cpu = [], 0.0, 0.0
        for lo in range(0, len(items), batch_size):
            started, started_cpu = time.perf_counter(), time.process_time()
            bodies.extend(extract_bodies(items[lo:lo + batch_size]))
            wall += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    predictions = [{"id": page["id"], "body": "\n".join(body)} for page, body in zip(pages, bodies, strict=True)]

    def speed(seconds: float) -> float:
        return len(pages) / seconds if seconds > 0 else float("inf")

    return predictions, speed(best_wall), speed(best_cpu)


def score_predictions(score_script: Path, dev: Path, predictions: Sequence[dict[str, str]], workdir: Path,
                      name: str, *, per_page: bool = False) -> tuple[float, float, float]:
    """Write predictions, run score.py on them and return (F1, P, R) of the whole set."""
    pred_path = workdir / f"pred-{name}.jsonl"
    pred_path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in predictions))
    command = [sys.executable, str(score_script), str(dev), str(pred_path)]
    if per_page:
        command.append("--per-page")
    completed = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    if per_page:
        sys.stdout.write(f"--- {name}\n{completed.stdout}")
    m = _SCORE_LINE_RE.search(completed.stdout)
    if m is None:
        raise RuntimeError(f"unexpected score.py output: {completed.stdout[-500:]}")
    return float(m.group(3)), float(m.group(1)), float(m.group(2))


def _ours(content_type: str) -> Extractor:
    def run(items: Sequence[tuple[str, str | None]]) -> list[list[str]]:
        found = extract_articles([ArticleInput(content, content_type, url=url) for content, url in items])
        return [extraction.body for extraction in found]

    return run


def _trafilatura_bodies(items: Sequence[tuple[str, str | None]]) -> list[list[str]]:
    import trafilatura

    bodies = []
    for content, url in items:
        text = trafilatura.extract(content, url=url, include_comments=False) or ""
        bodies.append([line for line in text.split("\n") if line.strip()])
    return bodies


def cli_predictions(pages: Sequence[dict[str, Any]], track: str, workdir: Path) -> tuple[list[dict[str, str]], float]:
    """Predictions made the way a user makes them: ``wirestream clean`` over raw-envelope JSONL.

    Returns the predictions and pages/s of the whole command (process start-up included).
    """
    envelopes = workdir / f"envelopes-{track}.jsonl"
    out = workdir / f"clean-{track}.jsonl"
    with envelopes.open("wb") as handle:
        for page in pages:
            envelope = {"id": page["id"], "url": page.get("url"), "content": page[track]}
            handle.write(orjson.dumps(envelope) + b"\n")
    started = time.perf_counter()
    fmt = "html" if track == "html" else "text"
    subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "workers.cli", "clean", str(envelopes), "--format", fmt, "--out", str(out)],
        check=False, capture_output=True,
    )
    elapsed = time.perf_counter() - started
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()] if out.exists() else []
    predictions = [{"id": r["id"], "body": "\n".join(r["body"])} for r in records]
    speed = len(pages) / elapsed if elapsed else 0.0
    return predictions, speed


def evaluate(dev: Path, tracks: Sequence[str], *, per_page: bool = False, with_trafilatura: bool = True,
             via_cli: bool = False) -> list[TrackScore]:
    """Run every requested track (and trafilatura on HTML) and score it."""
    score_script = dev.parent / "score.py"
    if not score_script.is_file():
        raise FileNotFoundError(f"score.py not found next to {dev}")
    pages = load_pages(dev)
    batch_size = Settings().batch_size  # the clean agent's batches
    # Load the language model and the lookup tables before timing: one-off start-up costs (about a
    # second) are not per-article speed. (A bare phrase is no article, so it never reached the model.)
    detect_language("The language model is loaded once per process, before the timed runs start.")
    for track in tracks:
        if pages:
            extract_article(pages[0][track], _CONTENT_TYPES[track])
    rows: list[TrackScore] = []
    with tempfile.TemporaryDirectory(prefix="wirestream-eval-") as tmp:
        workdir = Path(tmp)
        for track in tracks:
            predictions, speed, cpu_speed = _timed_predictions(pages, track, _ours(_CONTENT_TYPES[track]), batch_size)
            f1, precision, recall = score_predictions(score_script, dev, predictions, workdir, track,
                                                      per_page=per_page)
            rows.append(TrackScore(f"wirestream {track}", f1, precision, recall, speed, cpu_speed))
            if via_cli:
                predictions, speed = cli_predictions(pages, track, workdir)
                f1, precision, recall = score_predictions(score_script, dev, predictions, workdir, f"cli-{track}")
                rows.append(TrackScore(f"`wirestream clean` {track}", f1, precision, recall, speed, float("nan")))
            if track == "html" and with_trafilatura:
                predictions, speed, cpu_speed = _timed_predictions(pages, "html", _trafilatura_bodies, batch_size)
                f1, precision, recall = score_predictions(score_script, dev, predictions, workdir,
                                                          "trafilatura-html")
                rows.append(TrackScore("trafilatura html", f1, precision, recall, speed, cpu_speed))
    return rows


def format_table(rows: Sequence[TrackScore]) -> str:
    """The evaluation table, with the HTML speed ratio ours/trafilatura when both were run."""
    lines = [f"{'track':<20} {'F1':>7} {'P':>7} {'R':>7} {'pages/s':>9} {'cpu p/s':>9}"]
    lines += [f"{r.name:<20} {r.f1:7.4f} {r.precision:7.4f} {r.recall:7.4f} {r.pages_per_second:9.1f}"
              f" {r.cpu_pages_per_second:9.1f}" for r in rows]
    by_name = {r.name: r for r in rows}
    ours, theirs = by_name.get("wirestream html"), by_name.get("trafilatura html")
    if ours and theirs:
        lines.append(f"html speed ratio wirestream/trafilatura: {ours.pages_per_second / theirs.pages_per_second:.2f}x"
                     f"  (F1 {ours.f1:.4f} vs {theirs.f1:.4f})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, required=True, help="dev.jsonl (score.py must sit next to it)")
    parser.add_argument("--track", choices=["text", "html", "both"], default="both")
    parser.add_argument("--per-page", action="store_true", help="also print score.py's per-page lines")
    parser.add_argument("--no-trafilatura", action="store_true", help="skip the trafilatura comparison")
    parser.add_argument("--via-cli", action="store_true",
                        help="also score `wirestream clean` run as a command over raw-envelope JSONL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    tracks = ["text", "html"] if args.track == "both" else [args.track]
    rows = evaluate(args.dev, tracks, per_page=args.per_page, with_trafilatura=not args.no_trafilatura,
                    via_cli=args.via_cli)
    sys.stdout.write(describe() + "\n" + format_table(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
