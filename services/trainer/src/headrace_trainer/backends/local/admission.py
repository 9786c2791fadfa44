"""Admitting a whole gang on this machine at once (pure bookkeeping, no I/O).

A gang's demand is the sum of its replicas' requests; it is reserved in one `Capacity`
grant, so a gang never holds part of what it needs while it waits (no deadlock between two
gangs each holding half the GPUs). The grant's GPUs are then dealt out in replica order,
distinct devices per replica.
"""

from __future__ import annotations

from decimal import Decimal

from ...capacity import GIB, Demand, Machine
from ..base import Gang

__all__ = ["deal_gpus", "gang_demand", "gang_refusal"]

FIX = "run it on the Kubernetes backend"


def gang_demand(gang: Gang) -> Demand:
    return Demand(
        cpus=sum((r.resources.cpus for r in gang.replicas), Decimal(0)),
        memory=sum(r.resources.memory for r in gang.replicas),
        gpus=sum(r.resources.gpus for r in gang.replicas),
    )


def gang_refusal(gang: Gang, machine: Machine) -> str | None:
    """Why ``gang`` can never start on ``machine`` (its request and the machine's), else None."""
    demand = gang_demand(gang)
    count = len(gang.replicas)
    asks = f"gang '{gang.id}' ({count} replica{'s' if count != 1 else ''}) asks for"
    if demand.gpus > len(machine.gpus):
        return (
            f"{asks} {demand.gpus} GPUs in all ({_per_replica(gang, 'gpus')}) but this machine "
            f"has {len(machine.gpus)}: ask for fewer replicas or GPUs per replica, set "
            f"HEADRACE_TRAINER_GPUS if the trainer does not see the machine's GPUs, or {FIX}"
        )
    if demand.cpus > machine.cpus:
        return (
            f"{asks} {float(demand.cpus):g} CPUs in all ({_per_replica(gang, 'cpus')}) but this "
            f"machine has {float(machine.cpus):g}: lower the replicas' CPU requests or {FIX}"
        )
    if demand.memory > machine.memory:
        return (
            f"{asks} {demand.memory / GIB:.4g} GiB of memory in all but this machine has "
            f"{machine.memory / GIB:.4g} GiB: lower the replicas' memory requests or {FIX}"
        )
    return None


def deal_gpus(gang: Gang, gpus: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The granted ``gpus`` dealt to the replicas in order, as many as each asks for."""
    dealt: list[tuple[str, ...]] = []
    left = list(gpus)
    for replica in gang.replicas:
        wanted = replica.resources.gpus
        dealt.append(tuple(left[:wanted]))
        del left[:wanted]
    return dealt


def _per_replica(gang: Gang, what: str) -> str:
    parts = [f"{r.name}: {float(getattr(r.resources, what)):g}" for r in gang.replicas]
    return ", ".join(parts)
