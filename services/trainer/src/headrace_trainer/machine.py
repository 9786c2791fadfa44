"""What this machine offers the local backend: CPUs, memory and NVIDIA GPUs.

CPUs: the CPUs this process may run on (``sched_getaffinity``), capped by the cgroup v2
``cpu.max`` quota. Memory: ``MemTotal`` of ``/proc/meminfo``, capped by ``memory.max``.
GPUs: the trainer's own ``CUDA_VISIBLE_DEVICES`` when set, else the devices ``nvidia-smi
-L`` lists (or ``/proc/driver/nvidia/gpus/*`` without it). ``HEADRACE_TRAINER_CPUS``,
``HEADRACE_TRAINER_MEMORY`` and ``HEADRACE_TRAINER_GPUS`` override each (GPUs: a count, or
device ids separated by commas; ``0`` or empty for none).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

from kubernetes.utils.quantity import parse_quantity

from .capacity import Machine
from .cgroups import own_cgroup
from .config import TrainerSettings

__all__ = ["detect_gpus", "detect_machine", "parse_gpus"]

log = logging.getLogger("headrace.trainer.machine")


def detect_machine(config: TrainerSettings) -> Machine:
    cgroup = own_cgroup()
    cpus = Decimal(str(config.cpus)) if config.cpus is not None else _cpus(cgroup)
    memory = int(parse_quantity(config.memory)) if config.memory else _memory(cgroup)
    gpus = parse_gpus(config.gpus) if config.gpus is not None else detect_gpus()
    machine = Machine(cpus=cpus, memory=memory, gpus=gpus)
    log.info("local backend capacity: %s", machine.describe())
    return machine


def parse_gpus(text: str) -> tuple[str, ...]:
    """``HEADRACE_TRAINER_GPUS``: ``"2"`` -> ``("0", "1")``; ``"0,3"`` or UUIDs as listed."""
    text = text.strip()
    if not text:
        return ()
    if text.isdigit():
        return tuple(str(index) for index in range(int(text)))
    return tuple(part.strip() for part in text.split(",") if part.strip())


def detect_gpus() -> tuple[str, ...]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return tuple(part.strip() for part in visible.split(",") if part.strip() not in ("", "-1"))
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            listed = subprocess.run(
                [smi, "-L"], capture_output=True, text=True, timeout=20, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("nvidia-smi -L failed (%s): looking in /proc/driver/nvidia", error)
        else:
            count = sum(1 for line in listed.splitlines() if line.startswith("GPU "))
            return tuple(str(index) for index in range(count))
    found = Path("/proc/driver/nvidia/gpus")
    count = len(list(found.iterdir())) if found.is_dir() else 0
    return tuple(str(index) for index in range(count))


def _cpus(cgroup: Path | None) -> Decimal:
    cpus = Decimal(len(os.sched_getaffinity(0)))
    quota = _read(cgroup, "cpu.max").split()
    if len(quota) == 2 and quota[0] != "max":
        cpus = min(cpus, Decimal(quota[0]) / Decimal(quota[1]))
    return cpus


def _memory(cgroup: Path | None) -> int:
    total = 0
    for line in _read(Path("/proc"), "meminfo").splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    limit = _read(cgroup, "memory.max").strip()
    if limit.isdigit():
        total = min(total, int(limit)) if total else int(limit)
    return total


def _read(folder: Path | None, name: str) -> str:
    if folder is None:
        return ""
    try:
        return (folder / name).read_text()
    except OSError:
        return ""
