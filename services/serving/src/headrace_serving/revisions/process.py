"""One model-server process: its command line, start, readiness probe and stop.

A replica is ``headrace-model-server`` (``python -m headrace_modelserver.cli``) on a free port
of the fleet's host, in its own process group, writing stdout and stderr to one log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from ..dataplane import RevisionPlan

__all__ = [
    "ProbeAnswer",
    "free_port",
    "last_error",
    "probe_ready",
    "server_args",
    "server_command",
    "spawn",
    "terminate",
]

LOADING = "the model is loading"
"""The reason the model server gives while the model still loads (``ModelHost.reason``)."""


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# On Linux the replica asks the kernel for SIGTERM when the fleet's process dies (however it
# dies), then runs the model server's CLI in the same interpreter: no orphan outlives the
# fleet. The parent's pid guards against the fleet dying before the request was made.
_LINUX_LAUNCH = (
    "import ctypes, os, runpy, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv.pop(1)):\n"
    "    sys.exit('the fleet that started this model server is gone')\n"
    "runpy.run_module('headrace_modelserver.cli', run_name='__main__', alter_sys=True)\n"
)


def _launcher() -> list[str]:
    if sys.platform == "linux":
        return [sys.executable, "-c", _LINUX_LAUNCH, str(os.getpid())]
    return [sys.executable, "-m", "headrace_modelserver.cli"]


def server_command(plan: RevisionPlan, host: str, port: int) -> list[str]:
    """The local replica's command line: this Python running the model server."""
    return [*_launcher(), *server_args(plan, host, port)]


def server_args(plan: RevisionPlan, host: str, port: int) -> list[str]:
    """The model server's arguments for ``plan`` (a local replica's, a Kubernetes pod's)."""
    command = [
        "--model-name", plan.model_name,
        "--storage-uri", plan.storage_uri,
        "--host", host,
        "--port", str(port),
        "--workers", str(plan.workers),
        "--max-batch-size", str(plan.max_batch_size),
        "--max-latency", str(plan.max_latency_ms),
        "--namespace", plan.namespace,
        "--log-level", "info",
    ]  # fmt: skip
    if plan.model_format:
        command += ["--format", plan.model_format]
    if plan.model_version:
        command += ["--model-version", plan.model_version]
    return command


async def spawn(
    command: list[str], env: Mapping[str, str], log_path: Path
) -> asyncio.subprocess.Process:
    """Start ``command`` with ``env`` over this process's environment, output to ``log_path``
    (appended: a restarted replica keeps its earlier log)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )


async def terminate(process: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM to the process group (the server and its workers), SIGKILL after ``grace``."""
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()
    # Workers of a --workers N server that outlived their supervisor.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class ProbeAnswer:
    __slots__ = ("error", "ready")

    def __init__(self, ready: bool, error: str = "") -> None:
        self.ready = ready
        self.error = error

    @property
    def failed(self) -> bool:
        """The model server answered that the model did not load (not merely: loading)."""
        return not self.ready and bool(self.error) and not self.error.endswith(LOADING)


async def probe_ready(host: str, port: int, timeout: float = 2.0) -> ProbeAnswer | None:
    """``GET /v2/health/ready``: the answer, or None while nothing listens yet."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(
            f"GET /v2/health/ready HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        raw = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status == [b"200"]:
        return ProbeAnswer(True)
    return ProbeAnswer(False, _error_of(body))


def _error_of(body: bytes) -> str:
    import json

    try:
        return str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return body.decode(errors="replace").strip()


def last_error(log_path: Path, since: int = 0, limit: int = 64 * 1024) -> str:
    """The last error line of a replica's log after byte ``since`` (where this start of the
    replica began writing), or a traceback's last line."""
    try:
        with log_path.open("rb") as log:
            log.seek(max(since, log_path.stat().st_size - limit))
            lines = log.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith(("ERROR:", "CRITICAL:")):
            return line.split(":", 1)[1].strip()
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith(("INFO:", "WARNING:", "DEBUG:")):
            return text
    return ""
