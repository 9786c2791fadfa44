"""The Headrace home folder of a single-machine platform and its state file.

::

    <home>/
      platform.json   what the supervisor runs (pids, NATS URL); gone after a clean stop
      platform.lock   flock held by the supervisor for its whole life
      nats/           JetStream data of the embedded nats-server
      logs/           supervisor.log, nats-server.log, <service>-<i>.log
      *.db            each service's SQLite file
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """``--home``, else ``HEADRACE_HOME``, else ``~/.headrace``; always absolute."""
    chosen = home or os.environ.get("HEADRACE_HOME") or Path.home() / ".headrace"
    return Path(chosen).expanduser().absolute()


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "platform.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "platform.lock"

    @property
    def nats_dir(self) -> Path:
        return self.root / "nats"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def supervisor_log(self) -> Path:
        return self.logs / "supervisor.log"

    @property
    def nats_log(self) -> Path:
        return self.logs / "nats-server.log"

    def service_log(self, instance: str) -> Path:
        return self.logs / f"{instance}.log"

    def create(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.nats_dir.mkdir(parents=True, exist_ok=True)


@dataclass
class Replica:
    instance: str
    pid: int | None = None
    restarts: int = 0


@dataclass
class ServiceRecord:
    replicas: int
    instances: list[Replica] = field(default_factory=list)


@dataclass
class PlatformState:
    supervisor_pid: int
    nats_url: str
    embedded_nats: bool
    nats_pid: int | None
    started_at: str
    services: dict[str, ServiceRecord] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """Every process of the platform: services, nats-server, supervisor."""
        found = [r.pid for s in self.services.values() for r in s.instances if r.pid]
        if self.nats_pid:
            found.append(self.nats_pid)
        found.append(self.supervisor_pid)
        return found

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlatformState:
        services = {
            name: ServiceRecord(
                replicas=int(record["replicas"]),
                instances=[Replica(**replica) for replica in record.get("instances", [])],
            )
            for name, record in data.get("services", {}).items()
        }
        return cls(
            supervisor_pid=int(data["supervisor_pid"]),
            nats_url=str(data["nats_url"]),
            embedded_nats=bool(data["embedded_nats"]),
            nats_pid=data.get("nats_pid"),
            started_at=str(data.get("started_at", "")),
            services=services,
        )


def read_state(home: Home) -> PlatformState | None:
    """The state file, or ``None`` when there is none (or it is unreadable)."""
    try:
        return PlatformState.from_json(json.loads(home.state_file.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(home: Home, state: PlatformState) -> None:
    """Write atomically: readers see the old file or the new one, never half of one."""
    tmp = home.state_file.with_name(f".{home.state_file.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(tmp, home.state_file)


def remove_state(home: Home) -> None:
    with contextlib.suppress(FileNotFoundError):
        home.state_file.unlink()


class PlatformLock:
    """``flock`` on ``platform.lock``: held by the one supervisor of a home."""

    def __init__(self, home: Home) -> None:
        self.path = home.lock_file
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; ``False`` when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # close-on-exec by default
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lock_held(home: Home) -> bool:
    """Whether a live supervisor holds the home's lock (checked without keeping it)."""
    if not home.lock_file.exists():
        return False
    probe = PlatformLock(home)
    if probe.acquire():
        probe.release()
        return False
    return True
