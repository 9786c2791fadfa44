"""cgroups: finding this process's cgroup, and limiting a step's memory (and CPU) in a
child cgroup of it, where the machine allows it: cgroup v2 here, v1 in ``cgroups_v1``.

cgroup v2 needs a folder the trainer may create children in, with the ``memory``
controller enabled for its children (``cgroup.subtree_control``). That is the folder
``HEADRACE_TRAINER_CGROUP`` names (e.g. one an administrator created and delegated;
``+memory`` is enabled there if it is not yet), else the trainer's own cgroup when memory is
already enabled for its children (the root cgroup, typically). Each step gets
``<parent>/headrace-step-<id>`` with ``memory.max`` (and ``cpu.max`` for a CPU limit); its
process is moved there as it starts, and the folder is removed after it ends.

Where that is not possible and ``HEADRACE_TRAINER_CGROUP`` is unset, the trainer's cgroup
v1 memory hierarchy is used instead (``memory.limit_in_bytes``, see ``cgroups_v1``); it is
used directly when ``HEADRACE_TRAINER_CGROUP`` names a v1 memory folder. When neither is
possible, `probe` says why for each, and the launcher reports the limits as not enforced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from .cgroups_v1 import EnforcerV1, StepCgroupV1, probe_v1

__all__ = [
    "AnyEnforcer",
    "AnyStepCgroup",
    "Enforcer",
    "EnforcerV1",
    "StepCgroup",
    "StepCgroupV1",
    "own_cgroup",
    "probe",
]

log = logging.getLogger("headrace.trainer.cgroups")
PERIOD = 100_000  # microseconds of cpu.max's period


def own_cgroup(proc: Path = Path("/proc/self"), mounts: Path | None = None) -> Path | None:
    """The cgroup v2 folder of this process, or None without a unified hierarchy."""
    try:
        lines = (proc / "cgroup").read_text().splitlines()
        table = (mounts or proc / "mountinfo").read_text().splitlines()
    except OSError:
        return None
    relative = next((line[3:] for line in lines if line.startswith("0::")), None)
    if relative is None:
        return None
    for row in table:
        fields = row.split()
        if " - cgroup2 " in row and len(fields) > 4:
            return Path(fields[4]) / relative.lstrip("/")
    return None


@dataclass(frozen=True)
class Enforcer:
    """Creates per-step cgroups under ``parent``."""

    parent: Path

    @property
    def cpu_unenforced(self) -> str:
        """Why a step's CPU limit is not applied when its cgroup has no ``cpu.max``."""
        return (
            f"the cpu controller is not enabled for children of {self.parent} (add +cpu to "
            "its cgroup.subtree_control)"
        )

    def create(self, memory_max: int | None, cpu_max: float | None) -> StepCgroup:
        path = self.parent / f"headrace-step-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        group = StepCgroup(path)
        try:
            if memory_max:
                (path / "memory.max").write_text(str(memory_max))
                with contextlib.suppress(OSError):  # no swap accounting: fine
                    (path / "memory.swap.max").write_text("0")
            if cpu_max and (path / "cpu.max").exists():
                (path / "cpu.max").write_text(f"{max(1000, int(cpu_max * PERIOD))} {PERIOD}")
        except OSError:
            group.remove()
            raise
        return group


@dataclass(frozen=True)
class StepCgroup:
    path: Path

    @property
    def cpu_limited(self) -> bool:
        return (self.path / "cpu.max").exists()

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_killed(self, exit_code: int | None = None) -> bool:
        """Whether the kernel killed a process of this cgroup for exceeding memory.max
        (``exit_code`` is not needed: v2 always counts the kill)."""
        try:
            text = (self.path / "memory.events").read_text()
        except OSError:
            return False
        counts = dict(line.split() for line in text.splitlines() if line.count(" ") == 1)
        return int(counts.get("oom_kill", "0")) > 0

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError as error:
            log.warning("cgroup %s could not be removed: %s", self.path, error)


AnyEnforcer: TypeAlias = Enforcer | EnforcerV1
AnyStepCgroup: TypeAlias = StepCgroup | StepCgroupV1


def probe(
    configured: str = "", own: Path | None = None, proc: Path = Path("/proc/self")
) -> AnyEnforcer | str:
    """An enforcer (v2, else v1), or why memory limits cannot be enforced here: for a
    configured folder, why not there; else why neither the trainer's v2 nor v1 cgroup will do.
    ``own`` (the v2 cgroup) and ``proc`` stand in for this process's, in tests."""
    if configured:
        parent = Path(configured)
        if (parent / "cgroup.subtree_control").is_file():
            return _probe_v2(parent, configured=True)
        if (parent / "memory.limit_in_bytes").is_file():
            return probe_v1(parent, proc)
        return (
            f"{parent} is neither a cgroup v2 folder (no cgroup.subtree_control) nor a cgroup "
            "v1 memory folder (no memory.limit_in_bytes): set HEADRACE_TRAINER_CGROUP to one"
        )
    found = own if own is not None else own_cgroup(proc)
    v2 = (
        _probe_v2(found, configured=False)
        if found is not None
        else (
            "this machine has no cgroup v2 hierarchy for the trainer: run it where "
            "/sys/fs/cgroup is cgroup2, or set HEADRACE_TRAINER_CGROUP"
        )
    )
    if not isinstance(v2, str):
        return v2
    v1 = probe_v1(None, proc)
    if not isinstance(v1, str):
        return v1
    return f"{v2}; nor can cgroup v1 be used: {v1}"


def _probe_v2(parent: Path, configured: bool) -> Enforcer | str:
    control = parent / "cgroup.subtree_control"
    if not control.is_file():
        return f"{parent} is not a cgroup v2 folder: set HEADRACE_TRAINER_CGROUP to one"
    if "memory" not in control.read_text().split():
        # Only a folder given for the purpose is changed; the trainer's own cgroup is not.
        why = "it is not in its cgroup.subtree_control"
        if configured:
            try:
                control.write_text("+memory")
                why = ""
            except OSError as error:
                why = f"it could not be enabled: {error.strerror or error}"
        if why:
            return (
                f"the memory controller is not enabled for children of {parent} ({why}): "
                "delegate a cgroup to the trainer and point HEADRACE_TRAINER_CGROUP at it, "
                "or add +memory to its cgroup.subtree_control"
            )
    if not os.access(parent, os.W_OK):
        return f"the trainer may not create cgroups in {parent}: delegate it to the trainer's user"
    try:
        Enforcer(parent).create(memory_max=None, cpu_max=None).remove()
    except OSError as error:
        return f"a step cgroup could not be created in {parent} ({error}): delegate it"
    return Enforcer(parent)
