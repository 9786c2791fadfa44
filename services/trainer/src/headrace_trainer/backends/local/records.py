"""What the local backend keeps on disk of each gang, so that a trainer started after another
died finds the gangs it left running and follows them instead of starting them again.

::

    <root>/<gang>/attempt-<n>/
        gang.json           the gang as started: its replicas' launches, GPUs, cgroups
                            (written before any replica starts)
        <role>-<index>/
            process.json    the replica's process record (pid, start), written by its
                            supervisor before the command runs (see forkserver.records)
            exit.json       the command's exit record, written by the supervisor before it
                            reaps the command: there even when no trainer watched
            log.txt         the replica's stdout and stderr

A gang started with a records folder of the caller's (`Gang.records`: a step execution's
folder in the launcher's ledger) keeps ``gang.json`` there instead; a one-replica gang keeps
its replica's records and log in that folder itself (the ledger's own layout), a larger one
in ``<role>-<index>/`` below it.

A replica is judged as running, exited (with its code) or gone (ended without a record:
its supervisor was killed too) exactly as a step's execution is (`ledger.Judgement`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...executor.logs import safe_segment
from ...executor.runner import PythonCall
from ...forkserver import records
from ...ledger import Execution, Judgement
from ..base import Gang, ReplicaLaunch, ReplicaResources

__all__ = ["GangFolder", "ReplicaFolder", "gang_folder_name", "latest_attempt"]

GANG_FILE = "gang.json"


def gang_folder_name(gang_id: str) -> str:
    return safe_segment(gang_id)


@dataclass(frozen=True)
class ReplicaFolder:
    path: Path

    @property
    def process(self) -> Path:
        return self.path / "process.json"

    @property
    def exit(self) -> Path:
        return self.path / "exit.json"

    @property
    def log(self) -> Path:
        return self.path / "log.txt"

    def judge(self) -> Judgement:
        """Running, exited or gone: judged as a step's execution is (same record names)."""
        return Execution(self.path, 0).judge()


@dataclass(frozen=True)
class Placed:
    """A replica as the backend started it: GPUs dealt to it and its cgroup folders."""

    launch: ReplicaLaunch
    devices: tuple[str, ...]
    cgroups: tuple[str, ...] = ()


@dataclass(frozen=True)
class GangFolder:
    """``flat``: the folder of a one-replica gang whose replica's records lie in it."""

    path: Path
    flat: bool = False

    @classmethod
    def given(cls, path: Path, replicas: int) -> GangFolder:
        """The caller's folder for a gang of ``replicas``."""
        return cls(path, flat=replicas == 1)

    def replica(self, role: str, index: int) -> ReplicaFolder:
        return ReplicaFolder(self.path if self.flat else self.path / f"{role}-{index}")

    def write(self, gang: Gang, placed: list[Placed]) -> None:
        """Record the gang as it starts (atomically)."""
        body = {
            "gang": gang.id,
            "attempt": gang.attempt,
            "replicas": [_placed_json(item) for item in placed],
        }
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / GANG_FILE
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(body), encoding="utf-8")
        os.replace(temporary, target)

    def read(self) -> tuple[Gang, list[Placed]] | None:
        """The gang as recorded; None when there is no readable record."""
        found = records.read_record(str(self.path / GANG_FILE))
        if found is None:
            return None
        try:
            placed = [_placed_from(item) for item in found["replicas"]]
            gang = Gang(
                id=str(found["gang"]),
                replicas=tuple(item.launch for item in placed),
                attempt=int(found["attempt"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return gang, placed


def latest_attempt(root: Path, gang_id: str) -> GangFolder | None:
    """The folder of the gang's latest attempt, if any was recorded."""
    folder = root / gang_folder_name(gang_id)
    try:
        numbers = [
            int(entry.name[8:])
            for entry in os.scandir(folder)
            if entry.name.startswith("attempt-") and entry.name[8:].isdigit()
        ]
    except OSError:
        return None
    if not numbers:
        return None
    return GangFolder(folder / f"attempt-{max(numbers)}")


def _placed_json(item: Placed) -> dict[str, Any]:
    launch, resources = item.launch, item.launch.resources
    return {
        "role": launch.role,
        "index": launch.index,
        "argv": list(launch.argv),
        "env": dict(launch.env),
        "cwd": str(launch.cwd) if launch.cwd is not None else None,
        "log_key": launch.log_key,
        "python": (
            {"source": launch.python.source, "args": list(launch.python.args)}
            if launch.python is not None
            else None
        ),
        "resources": {
            "cpus": str(resources.cpus),
            "memory": resources.memory,
            "gpus": resources.gpus,
            "cpu_limit": str(resources.cpu_limit) if resources.cpu_limit is not None else None,
            "memory_limit": resources.memory_limit,
        },
        "devices": list(item.devices),
        "cgroups": list(item.cgroups),
    }


def _placed_from(item: dict[str, Any]) -> Placed:
    res = item["resources"]
    resources = ReplicaResources(
        cpus=Decimal(res["cpus"]),
        memory=int(res["memory"]),
        gpus=int(res["gpus"]),
        cpu_limit=Decimal(res["cpu_limit"]) if res.get("cpu_limit") is not None else None,
        memory_limit=res.get("memory_limit"),
    )
    launch = ReplicaLaunch(
        role=item["role"],
        index=int(item["index"]),
        argv=tuple(item["argv"]),
        env=dict(item["env"]),
        cwd=Path(item["cwd"]) if item.get("cwd") else None,
        resources=resources,
        log_key=item.get("log_key", ""),
        python=(
            PythonCall(str(python["source"]), [str(arg) for arg in python["args"]])
            if (python := item.get("python"))
            else None
        ),
    )
    return Placed(launch, tuple(item.get("devices", ())), tuple(item.get("cgroups", ())))
