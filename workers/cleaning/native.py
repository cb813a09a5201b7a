"""Which implementation of the plain-text cleaning helpers runs: the native extension or Python.

``workers/cleaning/_speedups.c`` is built by ``pip install`` where a C compiler is at hand (it is
optional). Where it is missing, or ``WIRESTREAM_PURE_PYTHON`` is set to anything but ``""``/``"0"``,
the numpy and Python code next to each call runs instead; both give the same results (the unit tests
pin them to each other), the native one about twice as fast.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

__all__ = ["PURE_PYTHON_ENV", "describe", "implementation", "speedups"]

logger = logging.getLogger(__name__)

PURE_PYTHON_ENV = "WIRESTREAM_PURE_PYTHON"


def _forced_python() -> bool:
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def _load() -> ModuleType | None:
    if _forced_python():
        logger.debug("plain-text cleaning: pure Python (%s is set)", PURE_PYTHON_ENV)
        return None
    try:
        from workers.cleaning import _speedups
    except ImportError:
        logger.debug("plain-text cleaning: pure Python (the native helpers are not built)")
        return None
    logger.debug("plain-text cleaning: native helpers (%s)", _speedups.__file__)
    return _speedups


speedups: ModuleType | None = _load()
"""The native helpers, or None when the Python code runs."""


def implementation() -> str:
    """``"native"`` when the native helpers run, else ``"python"`` (for logs and the bench output)."""
    return "python" if speedups is None else "native"


def describe() -> str:
    """The line that bench, eval and the clean worker's log give: which path runs, and how to switch."""
    if speedups is not None:
        return f"plain-text cleaning path: native (set {PURE_PYTHON_ENV}=1 for the Python code)"
    why = f"turned off by {PURE_PYTHON_ENV}" if _forced_python() else "not built"
    return f"plain-text cleaning path: python (native helpers {why})"
