"""Fit the plain-text line classifier (``line_weights.py``) from pages with a gold article body.

    python -m workers.cleaning.training --pages dev.jsonl [--folds 5] [--track text|html|both]
        [--write workers/cleaning/line_weights.py]

Each page's lines are labelled body/boilerplate by aligning them, in order, with the gold body.
Two L2-regularised logistic layers are fitted (layer 2 on out-of-fold layer-1 probabilities) with
line weights proportional to their token share of the page, so each page counts about equally,
as in the per-page F1 of the benchmark. Page-grouped cross-validation reports the expected
token F1 on unseen pages and picks the decision threshold; the final weights are fitted on all pages.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from workers.cleaning.linemodel import FloatArray, context_features
from workers.cleaning.plaintext import PageLines, analyse_page, body_indices
from workers.cleaning.webpage import analyse_html, html_body_indices

__all__ = ["fit_logistic", "label_lines", "main"]

logger = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"\w+")
_SHORT_LINE_WINDOW = 400
_L2 = 1.0
_THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def label_lines(lines: Sequence[str], gold_body: str) -> FloatArray:
    """1.0 for lines that occur, in order, in the gold body; short lines must follow closely."""
    gold = _normalise(gold_body)
    labels = np.zeros(len(lines))
    cursor = 0
    for i, line in enumerate(lines):
        text = _normalise(line)
        if len(_TOKEN_RE.findall(text)) >= 6 or len(text) >= 40:
            found = gold.find(text, cursor)
            if found < 0:
                found = gold.find(text)
                if found < 0:
                    continue
            labels[i] = 1.0
            cursor = max(cursor, found + len(text))
        else:
            found = gold.find(text, cursor, cursor + _SHORT_LINE_WINDOW + len(text))
            if found >= 0:
                labels[i] = 1.0
                cursor = found + len(text)
    return labels


def fit_logistic(x: FloatArray, y: FloatArray, weights: FloatArray, l2: float = _L2) -> FloatArray:
    """Weighted L2-regularised logistic regression by Newton's method (bias not penalised)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 1e-6
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (weights * (p - y)) + penalty * w
        hess = (x * (weights * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return w


@dataclass(slots=True)
class _Page:
    page: PageLines
    labels: FloatArray
    weights: FloatArray
    gold_tokens: Counter[str]


def _prepare(record: dict[str, Any], track: str = "text") -> _Page:
    if track == "html":
        analysed = analyse_html(record["html"])
        page = analysed.page if analysed is not None else analyse_page("")
    else:
        page = analyse_page(record["text"])
    labels = label_lines(page.lines, record["gold_body"])
    tokens = np.asarray([max(1, len(_TOKEN_RE.findall(line))) for line in page.lines], dtype=np.float64)
    weights = 0.5 * tokens / tokens.sum() * len(page.lines) + 0.5 if len(page.lines) else tokens
    gold = Counter(_TOKEN_RE.findall(record["gold_body"].lower()))
    return _Page(page, labels, weights, gold)


def _token_f1(gold: Counter[str], body: str) -> float:
    pred = Counter(_TOKEN_RE.findall(body.lower()))
    common = sum((gold & pred).values())
    if not common:
        return 0.0
    precision, recall = common / sum(pred.values()), common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))), dtype=np.float64)


def _fit_two_layers(pages: Sequence[_Page], inner_folds: int = 4) -> tuple[FloatArray, FloatArray]:
    x = np.vstack([p.page.features for p in pages])
    y = np.concatenate([p.labels for p in pages])
    sw = np.concatenate([p.weights for p in pages])
    layer1 = fit_logistic(x, y, sw)
    # Out-of-fold layer-1 probabilities, so layer 2 learns how much to trust them on unseen pages.
    oof: list[FloatArray] = [np.zeros(0)] * len(pages)
    for fold in range(inner_folds):
        train = [p for k, p in enumerate(pages) if k % inner_folds != fold]
        w = fit_logistic(np.vstack([p.page.features for p in train]), np.concatenate([p.labels for p in train]),
                         np.concatenate([p.weights for p in train]))
        for k, p in enumerate(pages):
            if k % inner_folds == fold:
                oof[k] = _sigmoid(p.page.features @ w)
    x2 = np.vstack([
        np.hstack([p.page.features, context_features(o, p.page.groups)]) for p, o in zip(pages, oof, strict=True)
    ])
    layer2 = fit_logistic(x2, y, sw)
    return layer1, layer2


def _page_probabilities(page: _Page, layer1: FloatArray, layer2: FloatArray) -> FloatArray:
    first = _sigmoid(page.page.features @ layer1)
    return _sigmoid(np.hstack([page.page.features, context_features(first, page.page.groups)]) @ layer2)


def _kept(page: PageLines, probabilities: FloatArray, threshold: float, track: str) -> list[int]:
    if track == "html":
        return html_body_indices(page, probabilities, threshold)
    return body_indices(page, probabilities, threshold)


def cross_validate(pages: Sequence[_Page], folds: int, track: str = "text") -> dict[float, list[float]]:
    """Per-threshold list of per-page token F1 on held-out folds."""
    scores: dict[float, list[float]] = {t: [] for t in _THRESHOLDS}
    for fold in range(folds):
        train = [p for k, p in enumerate(pages) if k % folds != fold]
        test = [p for k, p in enumerate(pages) if k % folds == fold]
        layer1, layer2 = _fit_two_layers(train)
        for page in test:
            probabilities = _page_probabilities(page, layer1, layer2)
            for threshold in _THRESHOLDS:
                kept = _kept(page.page, probabilities, threshold, track)
                body = "\n".join(page.page.lines[i] for i in kept)
                scores[threshold].append(_token_f1(page.gold_tokens, body))
    return scores


def _format_weights(name: str, values: FloatArray) -> str:
    body = ",\n".join(f"    {v:.6f}" for v in values)
    return f"{name} = np.array([\n{body},\n])\n"


def _existing_blocks(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Per track, the weights source block and the docstring line of an existing weights module."""
    if not path.is_file():
        return {}, {}
    source = path.read_text(encoding="utf-8")
    notes = {m.group(1): m.group(0) + "\n" for m in re.finditer(r"^(\w+): page-grouped .*$", source, re.MULTILINE)}
    starts = {m.group(1) or "": m.start() for m in re.finditer(r"^(HTML_)?BODY_THRESHOLD = ", source, re.MULTILINE)}
    blocks: dict[str, str] = {}
    for prefix, start in starts.items():
        later = [s for s in starts.values() if s > start]
        blocks["text" if not prefix else "html"] = source[start:min(later) if later else len(source)]
    return blocks, notes


def write_weights(path: Path, fitted: dict[str, tuple[FloatArray, FloatArray, float, float]]) -> None:
    """Write the generated ``line_weights.py`` module. Tracks not in ``fitted`` keep their weights (and
    their docstring line) from the existing module byte for byte, so one track can be refitted alone."""
    kept_blocks, kept_notes = _existing_blocks(path)
    tracks = sorted(set(fitted) | set(kept_blocks))
    notes = "".join(
        f"{track}: page-grouped cross-validated token F1 {fitted[track][3]:.4f} when generated.\n"
        if track in fitted else kept_notes.get(track, "") for track in tracks
    )
    parts = [
        '"""Weights of the line classifiers (plain text and HTML). Generated by\n'
        "``python -m workers.cleaning.training``; do not edit by hand.\n\n"
        + notes
        + '"""\n\nimport numpy as np\n\n'
    ]
    for track in tracks:
        if track not in fitted:
            parts.append(kept_blocks[track])
            continue
        layer1, layer2, threshold, _ = fitted[track]
        prefix = "" if track == "text" else "HTML_"
        parts.append(f"{prefix}BODY_THRESHOLD = {threshold}\n")
        parts.append(_format_weights(f"{prefix}LAYER1_WEIGHTS", layer1))
        parts.append(_format_weights(f"{prefix}LAYER2_WEIGHTS", layer2))
    path.write_text("".join(parts), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, required=True, help="JSONL with 'text', 'html' and 'gold_body'")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--track", choices=["text", "html", "both"], default="both")
    parser.add_argument("--write", type=Path,
                        help="write the fitted weights module here (a track not fitted keeps its existing weights)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with args.pages.open("rb") as handle:
        records = [orjson.loads(line) for line in handle if line.strip()]
    tracks = ["text", "html"] if args.track == "both" else [args.track]
    fitted: dict[str, tuple[FloatArray, FloatArray, float, float]] = {}
    for track in tracks:
        pages = [_prepare(r, track) for r in records]
        scores = cross_validate(pages, args.folds, track)
        for threshold, values in scores.items():
            logger.info("%s threshold %.2f  cv mean F1 %.4f", track, threshold, float(np.mean(values)))
        best = max(scores, key=lambda t: float(np.mean(scores[t])))
        cv_f1 = float(np.mean(scores[best]))
        logger.info("%s best threshold %.2f  cv F1 %.4f", track, best, cv_f1)
        layer1, layer2 = _fit_two_layers(pages)
        fitted[track] = (layer1, layer2, best, cv_f1)
    if args.write:
        write_weights(args.write, fitted)
        logger.info("wrote %s", args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
