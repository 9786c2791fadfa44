"""A replica's limits as a cgroup (see ``cgroups``), and why they are not enforced where
they cannot be (no I/O but the cgroup's own folder)."""

from __future__ import annotations

from dataclasses import dataclass

from ...cgroups import AnyEnforcer, AnyStepCgroup
from ..base import ReplicaResources

__all__ = ["Limits", "limit"]


@dataclass(frozen=True)
class Limits:
    """The replica's cgroup (None: it asks for no limit, or none could be made); why its
    limits are not enforced, and why its CPU limit is not (both "" where they are)."""

    cgroup: AnyStepCgroup | None = None
    unenforced: str = ""
    cpu_unenforced: str = ""


def limit(enforcer: AnyEnforcer | str, resources: ReplicaResources) -> Limits:
    """A cgroup for ``resources``' limits from ``enforcer`` (a string: why there is none)."""
    if resources.memory_limit is None and resources.cpu_limit is None:
        return Limits()
    if isinstance(enforcer, str):
        return Limits(unenforced=enforcer)
    try:
        group = enforcer.create(
            memory_max=resources.memory_limit,
            cpu_max=float(resources.cpu_limit) if resources.cpu_limit is not None else None,
        )
    except OSError as error:
        return Limits(unenforced=str(error))
    cpu = ""
    if resources.cpu_limit is not None and not group.cpu_limited:
        cpu = enforcer.cpu_unenforced
    return Limits(group, "", cpu)
