"""OS processes of the platform: how a service is launched, whether a pid lives, killing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path


def service_command(service: str) -> list[str]:
    """The ``headrace-<service>`` script beside this Python, else ``python -c ...main()``."""
    script = Path(sys.executable).parent / f"headrace-{service}"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    module = f"headrace_{service}.app"
    return [sys.executable, "-c", f"from {module} import main; main()"]


def service_env(
    *,
    home: Path,
    nats_url: str,
    instance: str,
    database_url: str | None = None,
    artifacts: str | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(
        HEADRACE_HOME=str(home),
        HEADRACE_NATS_URL=nats_url,
        HEADRACE_INSTANCE_ID=instance,
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["HEADRACE_DATABASE_URL"] = database_url
    if artifacts:
        env["HEADRACE_ARTIFACTS"] = artifacts
    return env


def spawn(command: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session (Ctrl-C in a terminal reaches the supervisor
    only, which then stops services first and NATS last), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"==== {stamp} headrace: starting {' '.join(command)}\n".encode())
        log.flush()
        return subprocess.Popen(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    state = stat.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"])


def is_platform_process(pid: int) -> bool:
    """Best effort guard against pid reuse: the command line names Headrace or nats-server."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return b"headrace" in cmdline or b"nats-server" in cmdline


def signal_pid(pid: int, sig: signal.Signals, *, group: bool = False) -> None:
    """Send ``sig`` to ``pid`` (and to its process group when it leads one)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
            return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def wait_gone(pids: Iterable[int], timeout: float, *, interval: float = 0.1) -> list[int]:
    """Wait until none of ``pids`` lives; returns those still alive at ``timeout``."""
    remaining = [pid for pid in pids if pid_alive(pid)]
    deadline = time.monotonic() + timeout
    while remaining and time.monotonic() < deadline:
        time.sleep(interval)
        remaining = [pid for pid in remaining if pid_alive(pid)]
    return remaining


def terminate_all(pids: Iterable[int], *, grace: float = 10.0) -> list[int]:
    """SIGTERM, wait up to ``grace`` s, SIGKILL the stragglers' process groups.

    Returns the pids that survived even SIGKILL (normally none).
    """
    targets = [pid for pid in pids if pid_alive(pid) and is_platform_process(pid)]
    for pid in targets:
        signal_pid(pid, signal.SIGTERM)
    stragglers = wait_gone(targets, grace)
    for pid in stragglers:
        signal_pid(pid, signal.SIGKILL, group=True)
    return wait_gone(stragglers, 5.0)
