"""Admitting steps by free capacity on this machine (pure bookkeeping, no I/O).

A step needs its CPU and memory *requests* (else its limits, as Kubernetes defaults a
request to the limit) and its NVIDIA GPUs. One that needs more than the machine has is
refused at once (`refusal`); otherwise `Capacity.admit` waits until that much is free and
grants it, with distinct GPU devices, until `Capacity.release`. A step that asks for
nothing is admitted at once (its slot is the only limit), as a best-effort pod is.
Quantities are Kubernetes quantities (``500m``, ``2``, ``4Gi``, ``1G``), parsed by the
``kubernetes`` client's own parser.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from decimal import Decimal

from kubernetes.utils.quantity import parse_quantity

from headrace_contracts import Resources

from .errors import StepError

__all__ = ["Capacity", "Demand", "Grant", "Machine", "demand_of", "is_nvidia", "refusal"]

GIB = 1024**3


@dataclass(frozen=True)
class Machine:
    """What this trainer may hand out: CPUs, bytes of memory, and GPU device ids."""

    cpus: Decimal
    memory: int
    gpus: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{_cpus(self.cpus)} CPUs, {_bytes(self.memory)} of memory, {len(self.gpus)} GPUs"


@dataclass(frozen=True)
class Demand:
    """What one step needs to be admitted (zero: nothing in particular)."""

    cpus: Decimal = Decimal(0)
    memory: int = 0
    gpus: int = 0
    gpu_type: str = ""

    @property
    def empty(self) -> bool:
        return not (self.cpus or self.memory or self.gpus)


@dataclass(frozen=True)
class Grant:
    demand: Demand
    gpus: tuple[str, ...] = field(default=())


def is_nvidia(kind: str) -> bool:
    """Whether an accelerator type means NVIDIA GPUs (``nvidia.com/gpu``, ``NVIDIA_TESLA_T4``)."""
    return not kind or "nvidia" in kind.lower()


def demand_of(resources: Resources, task: str) -> Demand:
    """The :class:`Demand` of a step's resources; StepError naming a bad quantity."""
    cpu = resources.cpu_request or resources.cpu_limit or resources.cpu
    memory = resources.memory_request or resources.memory_limit or resources.memory
    count = resources.accelerator_count or resources.gpu
    kind = resources.accelerator_type or (resources.gpu_type if count else "")
    return Demand(
        cpus=_quantity(cpu, task, "CPU", "set_cpu_limit/set_cpu_request", "'500m' or '2'"),
        memory=int(
            _quantity(memory, task, "memory", "set_memory_limit/set_memory_request", "'4Gi'")
        ),
        gpus=count,
        gpu_type=kind,
    )


def refusal(demand: Demand, machine: Machine, task: str) -> str | None:
    """Why ``demand`` can never fit on ``machine`` (naming request and capacity), else None."""
    fix = "run it on the Kubernetes backend"
    if demand.cpus > machine.cpus:
        return (
            f"step '{task}' asks for {_cpus(demand.cpus)} CPUs but this machine has "
            f"{_cpus(machine.cpus)}: lower set_cpu_limit/set_cpu_request or {fix}"
        )
    if demand.memory > machine.memory:
        return (
            f"step '{task}' asks for {_bytes(demand.memory)} of memory but this machine has "
            f"{_bytes(machine.memory)}: lower set_memory_limit/set_memory_request or {fix}"
        )
    if demand.gpus and not is_nvidia(demand.gpu_type):
        return (
            f"step '{task}' asks for {demand.gpus} accelerator(s) of type '{demand.gpu_type}' "
            "but this machine has none of that type (it runs NVIDIA GPUs only): use "
            f"set_accelerator_type('nvidia.com/gpu') or {fix}"
        )
    if demand.gpus > len(machine.gpus):
        return (
            f"step '{task}' asks for {demand.gpus} GPUs but this machine has "
            f"{len(machine.gpus)}: lower set_accelerator_limit, set HEADRACE_TRAINER_GPUS if "
            f"the trainer does not see the machine's GPUs, or {fix}"
        )
    return None


class Capacity:
    """Free CPUs, memory and GPUs of one machine; `admit` waits until a demand fits."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.cpus = machine.cpus
        self.memory = machine.memory
        self.gpus: list[str] = list(machine.gpus)
        self._changed = asyncio.Condition()

    def fits(self, demand: Demand) -> bool:
        return (
            demand.cpus <= self.cpus
            and demand.memory <= self.memory
            and demand.gpus <= len(self.gpus)
        )

    async def admit(self, demand: Demand, cancelled: asyncio.Event) -> Grant | None:
        """Wait until ``demand`` fits and take it; None (holding nothing) once
        ``cancelled`` is set. The demand must pass `refusal` first, or this waits forever."""
        if demand.empty:
            return None if cancelled.is_set() else Grant(demand)
        async with self._changed:
            while not self.fits(demand):
                if cancelled.is_set():
                    return None
                await _wait_either(self._changed, cancelled)
            if cancelled.is_set():
                return None
            self.cpus -= demand.cpus
            self.memory -= demand.memory
            taken = tuple(self.gpus[: demand.gpus])
            del self.gpus[: demand.gpus]
            return Grant(demand, taken)

    async def claim(self, demand: Demand, gpus: tuple[str, ...]) -> Grant:
        """Take ``demand`` with exactly ``gpus`` at once, free or not: for work that runs
        already (a gang adopted after a restart). Release it as any grant."""
        async with self._changed:
            self.cpus -= demand.cpus
            self.memory -= demand.memory
            self.gpus = [gpu for gpu in self.gpus if gpu not in gpus]
            return Grant(demand, tuple(gpu for gpu in gpus if gpu in self.machine.gpus))

    async def release(self, grant: Grant) -> None:
        if grant.demand.empty:
            return
        async with self._changed:
            self.cpus += grant.demand.cpus
            self.memory += grant.demand.memory
            self.gpus.extend(grant.gpus)
            self.gpus.sort(key=lambda gpu: self.machine.gpus.index(gpu))
            self._changed.notify_all()


async def _wait_either(changed: asyncio.Condition, cancelled: asyncio.Event) -> None:
    """Wait (lock released meanwhile) until capacity changes or the step is cancelled."""
    waiter = asyncio.ensure_future(changed.wait())
    stop = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not waiter.done():
            waiter.cancel()
            # Condition.wait re-acquires the lock even when cancelled: let it.
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


def _quantity(value: str | None, task: str, what: str, setter: str, example: str) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        found = parse_quantity(value)
    except (ValueError, TypeError) as error:
        raise StepError(
            f"step '{task}' asks for {what} {value!r}, which is not a Kubernetes quantity "
            f"({error}): pass {setter} a value like {example}"
        ) from None
    if found < 0:
        raise StepError(f"step '{task}' asks for negative {what} {value!r}: pass {setter} >= 0")
    return Decimal(found)


def _cpus(value: Decimal) -> str:
    return f"{float(value):g}"


def _bytes(value: int) -> str:
    if value >= GIB:
        return f"{value / GIB:.4g} GiB"
    return f"{value / 1024**2:.4g} MiB"
