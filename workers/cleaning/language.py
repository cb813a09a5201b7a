"""Language of an article (ISO 639-1) with py3langid, loaded once per process."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = ["detect_language"]

logger = logging.getLogger(__name__)

_SAMPLE_CHARS = 700
_MIN_LETTERS = 20
_LETTER_RE = re.compile(r"[^\W\d_]")
_lock = threading.Lock()
_identifier: Any = None


def _load_identifier() -> Any:
    global _identifier  # one model per process, loaded lazily
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    return _identifier


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` ("en", "de", ...), or None when there is too little text to tell."""
    sample = text[:_SAMPLE_CHARS]
    if len(_LETTER_RE.findall(sample, 0, 400)) < _MIN_LETTERS:
        return None
    try:
        code, _score = _load_identifier().classify(sample)
    except (ValueError, RuntimeError, MemoryError):
        logger.warning("language detection failed", exc_info=True)
        return None
    return str(code) or None
