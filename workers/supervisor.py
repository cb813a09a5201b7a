"""Starting and stopping wirestream worker processes (used by the demo, the benchmarks and the tests)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)


def start_worker(
    stage: str, env: Mapping[str, str], log_path: Path, *, python: str = sys.executable
) -> subprocess.Popen[bytes]:
    """Start ``wirestream worker STAGE`` as a child process, its output going to ``log_path``."""
    with open(log_path, "ab") as handle:
        return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [python, "-m", "workers.cli", "worker", stage],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
        )


def stop_process(proc: subprocess.Popen[bytes], *, grace: float = 15.0) -> int:
    """SIGTERM a process, wait ``grace`` seconds, then SIGKILL it; return its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("process %d ignored SIGTERM for %.0fs; killing it", proc.pid, grace)
            proc.kill()
            proc.wait(timeout=10)
    return int(proc.returncode)


def log_tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""
