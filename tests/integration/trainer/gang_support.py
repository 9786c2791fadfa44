"""Helpers for the local gang backend's tests: real Python replicas, real files."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from headrace_trainer.backends import Gang, ReplicaLaunch, ReplicaResources
from headrace_trainer.capacity import Machine
from headrace_trainer.forkserver.records import process_state

GIB = 1024**3


def machine(gpus: int = 0, cpus: int = 8) -> Machine:
    """A pretend machine (the backend's inventory is injected, not detected)."""
    return Machine(cpus=Decimal(cpus), memory=16 * GIB, gpus=tuple(str(i) for i in range(gpus)))


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-u", "-c", code)


def replica(
    role: str, index: int, code: str, *, gpus: int = 0, env: dict[str, str] | None = None
) -> ReplicaLaunch:
    return ReplicaLaunch(
        role=role,
        index=index,
        argv=python(code),
        env=env or {},
        resources=ReplicaResources(gpus=gpus),
        log_key=f"gangs/test/{role}-{index}/log.txt",
    )


def gang(gang_id: str, *replicas: ReplicaLaunch, attempt: int = 1) -> Gang:
    return Gang(id=gang_id, replicas=replicas, attempt=attempt)


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (an ended process nobody reaped yet)."""
    state = process_state(pid)
    return state is not None and state[1] != "Z"


def pids_in(path: Path) -> list[int]:
    """The pids a replica wrote, one a line."""
    return [int(line) for line in path.read_text().split()]


# A replica that writes its pid (and its child's) and waits for ``release`` to exist.
WAITS = """
import os, pathlib, subprocess, sys, time
folder = pathlib.Path(os.environ["FOLDER"])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
name = os.environ["NAME"]
(folder / f"{name}.pids").write_text(f"{os.getpid()}\\n{child.pid}\\n")
print("waiting", name, flush=True)
while not (folder / "release").exists():
    time.sleep(0.02)
sys.exit(int(os.environ.get("CODE", "0")))
"""


def waits(role: str, index: int, folder: Path, code: int = 0, gpus: int = 0) -> ReplicaLaunch:
    """A replica that runs (with a child) until ``folder/release`` exists, then exits ``code``."""
    env = {"FOLDER": str(folder), "NAME": f"{role}-{index}", "CODE": str(code)}
    return replica(role, index, WAITS, env=env, gpus=gpus)
