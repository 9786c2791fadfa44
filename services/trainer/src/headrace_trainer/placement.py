"""Placing a step on this machine: what it asks for, and the notices of what is not applied.

The launcher asks, per step: `check` (refuse at once what can never fit or does not parse),
`resources` (its requests and limits, as its gang's replica asks for them: the backend
admits it by them, deals it its GPUs and makes a cgroup for its limits), `notices` (what
is said at the top of its log before it starts), `limit_notices` (what the backend could
not enforce, once it started) and `finish` (an out-of-memory kill named as such).

GPUs: a step asking for ``nvidia.com/gpu`` gets that many distinct devices, held until it
ends; a step asking for none gets ``CUDA_VISIBLE_DEVICES=""`` and so sees no GPU, as a pod
without a GPU request sees none, and cannot take a device another step holds.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from kubernetes.utils.quantity import parse_quantity

from headrace_contracts import StepReady

from .backends.base import ReplicaResources, ReplicaState
from .capacity import Capacity, Machine, demand_of, refusal
from .cgroups import AnyEnforcer
from .errors import StepError
from .executor import Outcome
from .platform_settings import unapplied_settings

__all__ = ["NOTICE_PREFIX", "Placement"]

NOTICE_PREFIX = "headrace: "
log = logging.getLogger("headrace.trainer.placement")


class Placement:
    """The machine's `Capacity` (shared with the workload backend, so steps and gangs never
    hold the same GPU) and what the machine's cgroups can enforce."""

    def __init__(self, machine: Machine, enforcer: AnyEnforcer | str) -> None:
        self.capacity = Capacity(machine)
        self.enforcer = enforcer

    @property
    def machine(self) -> Machine:
        return self.capacity.machine

    def check(self, step: StepReady) -> str | None:
        """Why ``step`` cannot run on this machine at all, else None."""
        try:
            demand = demand_of(step.resources, step.task_name)
        except StepError as error:
            return str(error)
        return refusal(demand, self.machine, step.task_name)

    def resources(self, step: StepReady) -> ReplicaResources:
        """What the step's replica asks for (call `check` first); a limit that is not a
        quantity is left out (`notices` says so)."""
        demand = demand_of(step.resources, step.task_name)
        memory, cpu = _limit(step.resources.memory_limit), _limit(step.resources.cpu_limit)
        return ReplicaResources(
            cpus=demand.cpus,
            memory=demand.memory,
            gpus=demand.gpus,
            cpu_limit=cpu,
            memory_limit=int(memory) if memory is not None else None,
        )

    def notices(self, step: StepReady) -> list[str]:
        """What is not applied to ``step`` here, known before it starts."""
        notices = []
        settings = unapplied_settings(step.platform)
        if settings:
            notices.append(
                f"the local backend does not apply these Kubernetes settings of step "
                f"'{step.task_name}' (the Kubernetes backend does): " + "; ".join(settings)
            )
        if self.machine.gpus and not demand_of(step.resources, step.task_name).gpus:
            notices.append(
                f"step '{step.task_name}' asks for no GPU, so it sees none "
                "(CUDA_VISIBLE_DEVICES is empty): ask with "
                "set_accelerator_type('nvidia.com/gpu').set_accelerator_limit(1)"
            )
        limits, verb = _asked(step)
        for value in (step.resources.memory_limit, step.resources.cpu_limit):
            try:
                _limit(value, strict=True)
            except ValueError as error:
                notices.append(
                    f"the {limits} of step '{step.task_name}' {verb} not enforced: {error}"
                )
                break
        return notices

    def limit_notices(self, step: StepReady, state: ReplicaState) -> list[str]:
        """What the backend could not enforce of the step's limits, as it started it."""
        limits, verb = _asked(step)
        if state.limits_unenforced and limits:
            return [
                f"the {limits} of step '{step.task_name}' {verb} not enforced: "
                f"{state.limits_unenforced}"
            ]
        if state.cpu_unenforced and step.resources.cpu_limit:
            return [
                f"the CPU limit {step.resources.cpu_limit} of step '{step.task_name}' is not "
                f"enforced: {state.cpu_unenforced}"
            ]
        return []

    def finish(self, step: StepReady, outcome: Outcome, state: ReplicaState | None) -> Outcome:
        """An out-of-memory kill gets a reason that says so."""
        if state is not None and state.oom_killed and outcome.status == "failed":
            limit = step.resources.memory_limit
            reason = (
                f"step '{step.task_name}' used more memory than its limit of {limit} "
                "and was killed: raise set_memory_limit or use less memory"
            )
            return outcome.model_copy(update={"reason": reason})
        return outcome


def _asked(step: StepReady) -> tuple[str, str]:
    """``("memory limit 1Gi and CPU limit 2", "are")``; ``("", ...)`` when none is set."""
    memory, cpu = step.resources.memory_limit, step.resources.cpu_limit
    asked = [f"memory limit {memory}" if memory else "", f"CPU limit {cpu}" if cpu else ""]
    return " and ".join(part for part in asked if part), "are" if memory and cpu else "is"


def _limit(value: str | None, *, strict: bool = False) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(parse_quantity(value))
    except (ValueError, TypeError) as error:
        if strict:
            raise ValueError(str(error)) from None
        return None
