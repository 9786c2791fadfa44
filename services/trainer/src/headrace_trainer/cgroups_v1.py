"""cgroup v1: limiting a step's memory (and CPU) where the memory controller is on a v1
hierarchy (``/sys/fs/cgroup/memory``), as on hosts and containers without a unified one.

The parent is the folder ``HEADRACE_TRAINER_CGROUP`` names, else the trainer's own memory
cgroup: its ``N:memory:/path`` line of ``/proc/self/cgroup`` under the mount of fstype
``cgroup`` whose super options name ``memory`` (``/proc/self/mountinfo``). Each step gets
``<parent>/headrace-step-<id>`` with ``memory.limit_in_bytes`` and, where swap is accounted,
``memory.memsw.limit_in_bytes`` equal to it (written second: v1 refuses a memory+swap limit
below the memory limit), so swapping does not dodge the limit. An out-of-memory kill is the
``oom_kill`` counter of ``memory.oom_control``; kernels before 4.13 lack it, and then a hit
limit (``memory.failcnt`` > 0) together with a SIGKILL counts as one.

A CPU limit is ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` in a folder of the same name
in the ``cpu`` hierarchy (the memory folder itself where both are mounted together), under
the trainer's own cpu cgroup when it may create one there; otherwise CPU limits are reported
as not enforced, with the reason.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["EnforcerV1", "StepCgroupV1", "oom_killed_v1", "probe_v1", "v1_folder"]

log = logging.getLogger("headrace.trainer.cgroups")
PERIOD = 100_000  # microseconds of cpu.cfs_period_us
SIGKILLED = (-9, 128 + 9)  # exit codes of a SIGKILLed process (direct, through a shell)


def v1_folder(cgroup: str, mountinfo: str, controller: str) -> Path | None:
    """The folder of ``controller``'s v1 hierarchy this process is in, from the text of
    ``/proc/self/cgroup`` and ``/proc/self/mountinfo``; None when it has none mounted."""
    relative = None
    for line in cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            relative = PurePosixPath(parts[2])
            break
    if relative is None:
        return None
    for row in mountinfo.splitlines():
        mount, separator, source = row.partition(" - ")
        fields, options = mount.split(), source.split()
        if not separator or len(fields) < 5 or len(options) < 3 or options[0] != "cgroup":
            continue
        if controller not in options[2].split(","):
            continue
        root, point = PurePosixPath(fields[3]), fields[4]
        if relative.is_relative_to(root):  # a mount of part of the hierarchy (a container)
            return Path(point) / relative.relative_to(root)
    return None


def oom_killed_v1(oom_control: str, failcnt: str, exit_code: int | None) -> bool:
    """Whether the kernel killed a process of the cgroup for its memory limit."""
    counts = dict(line.split() for line in oom_control.splitlines() if line.count(" ") == 1)
    if "oom_kill" in counts:
        return int(counts["oom_kill"]) > 0
    hit = failcnt.strip()
    return hit.isdigit() and int(hit) > 0 and exit_code in SIGKILLED


@dataclass(frozen=True)
class StepCgroupV1:
    """A step's memory folder (``path``) and, when its CPU is limited, its cpu folder."""

    path: Path
    cpu_path: Path | None = None

    @property
    def cpu_limited(self) -> bool:
        return self.cpu_path is not None

    @property
    def folders(self) -> list[Path]:
        return [self.path] if self.cpu_path in (None, self.path) else [self.path, self.cpu_path]

    def add(self, pid: int) -> None:
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def oom_killed(self, exit_code: int | None = None) -> bool:
        return oom_killed_v1(
            _read(self.path / "memory.oom_control"), _read(self.path / "memory.failcnt"), exit_code
        )

    def remove(self) -> None:
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError as error:
                log.warning("cgroup %s could not be removed: %s", folder, error)


@dataclass(frozen=True)
class EnforcerV1:
    """Creates per-step cgroups under ``parent`` (memory) and ``cpu`` (None: CPU limits
    are not enforced, ``cpu_unenforced`` says why)."""

    parent: Path
    cpu: Path | None = None
    cpu_unenforced: str = ""

    def create(self, memory_max: int | None, cpu_max: float | None) -> StepCgroupV1:
        name = f"headrace-step-{uuid.uuid4().hex[:12]}"
        path = self.parent / name
        path.mkdir()
        group = StepCgroupV1(path)
        try:
            if memory_max:
                (path / "memory.limit_in_bytes").write_text(str(memory_max))
                # Where swap is accounted (the parent has the file, so the child has too);
                # after the memory limit, which it may not be below.
                if (self.parent / "memory.memsw.limit_in_bytes").exists():
                    (path / "memory.memsw.limit_in_bytes").write_text(str(memory_max))
            if cpu_max and self.cpu is not None:
                cpu_path = path if self.cpu == self.parent else self.cpu / name
                if cpu_path != path:
                    cpu_path.mkdir()
                group = StepCgroupV1(path, cpu_path)
                (cpu_path / "cpu.cfs_period_us").write_text(str(PERIOD))
                (cpu_path / "cpu.cfs_quota_us").write_text(str(max(1000, int(cpu_max * PERIOD))))
        except OSError:
            group.remove()
            raise
        return group


def probe_v1(configured: Path | None, proc: Path = Path("/proc/self")) -> EnforcerV1 | str:
    """An :class:`EnforcerV1` for ``configured`` (a v1 memory folder) or the trainer's own
    memory cgroup, or why memory limits cannot be enforced with cgroup v1."""
    cgroup, mountinfo = _read(proc / "cgroup"), _read(proc / "mountinfo")
    parent = configured or v1_folder(cgroup, mountinfo, "memory")
    if parent is None or not (parent / "memory.limit_in_bytes").is_file():
        return (
            "this process is in no mounted cgroup v1 memory hierarchy (no memory line in "
            "/proc/self/cgroup, or no cgroup mount with the memory option): mount one, or "
            "set HEADRACE_TRAINER_CGROUP to a cgroup v1 memory folder"
        )
    why = _creatable(parent)
    if why:
        return why
    if (parent / "cpu.cfs_quota_us").is_file():  # cpu and memory mounted together
        return EnforcerV1(parent, cpu=parent)
    cpu = v1_folder(cgroup, mountinfo, "cpu")
    if cpu is None or not (cpu / "cpu.cfs_quota_us").is_file():
        return EnforcerV1(
            parent,
            cpu_unenforced="this process is in no mounted cgroup v1 cpu hierarchy with "
            "cpu.cfs_quota_us (mount the cpu controller)",
        )
    why = _creatable(cpu)
    return EnforcerV1(parent, cpu_unenforced=why) if why else EnforcerV1(parent, cpu=cpu)


def _creatable(parent: Path) -> str:
    """Why the trainer may not create a cgroup in ``parent``; empty when it may."""
    if not os.access(parent, os.W_OK):
        return (
            f"the trainer may not create cgroups in {parent}: delegate it to the trainer's "
            "user, or run the trainer as root"
        )
    trial = parent / f"headrace-probe-{uuid.uuid4().hex[:12]}"
    try:
        trial.mkdir()
    except OSError as error:
        return f"a step cgroup could not be created in {parent} ({error}): delegate it"
    try:
        trial.rmdir()
    except OSError as error:
        log.warning("cgroup %s could not be removed: %s", trial, error)
    return ""


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
