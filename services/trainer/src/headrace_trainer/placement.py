"""Placing a step on this machine: admission by capacity, GPUs, limits, platform notices.

The launcher calls, per step: `check` (refuse at once what can never fit or does not
parse), `admit` (wait for free CPUs, memory and GPUs), `prepare` (the step as it will run:
``CUDA_VISIBLE_DEVICES`` set to its devices, the notices of what is not applied, a cgroup
for its limits), `started` (move its process into that cgroup), `finish` (remove the cgroup,
name an out-of-memory kill) and `release`.

GPUs: a step asking for ``nvidia.com/gpu`` gets that many distinct devices, held until it
ends; a step asking for none gets ``CUDA_VISIBLE_DEVICES=""`` and so sees no GPU, as a pod
without a GPU request sees none, and cannot take a device another step holds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from kubernetes.utils.quantity import parse_quantity

from headrace_contracts import StepReady

from .capacity import Capacity, Demand, Grant, Machine, demand_of, refusal
from .cgroups import AnyEnforcer, AnyStepCgroup
from .errors import StepError
from .executor import Outcome
from .platform_settings import unapplied_settings

__all__ = ["NOTICE_PREFIX", "Placed", "Placement"]

NOTICE_PREFIX = "headrace: "
log = logging.getLogger("headrace.trainer.placement")


@dataclass
class Placed:
    """A step admitted to run here, as it will run."""

    step: StepReady
    grant: Grant
    notices: list[str] = field(default_factory=list)
    cgroup: AnyStepCgroup | None = None


class Placement:
    def __init__(self, machine: Machine, enforcer: AnyEnforcer | str) -> None:
        self.capacity = Capacity(machine)
        self.enforcer = enforcer
        self._warned = False

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

    async def admit(self, step: StepReady, cancelled: asyncio.Event) -> Grant | None:
        """Wait until the step's demand is free and take it; None when cancelled first.
        Call `check` first: a demand larger than the machine would wait for ever."""
        demand: Demand = demand_of(step.resources, step.task_name)
        return await self.capacity.admit(demand, cancelled)

    async def release(self, grant: Grant) -> None:
        await self.capacity.release(grant)

    def prepare(self, step: StepReady, grant: Grant) -> Placed:
        """The step with its GPUs in the environment, and what is not applied to it."""
        placed = Placed(
            step=_with_env(step, {"CUDA_VISIBLE_DEVICES": ",".join(grant.gpus)}), grant=grant
        )
        settings = unapplied_settings(step.platform)
        if settings:
            placed.notices.append(
                f"the local backend does not apply these Kubernetes settings of step "
                f"'{step.task_name}' (the Kubernetes backend does): " + "; ".join(settings)
            )
        if self.machine.gpus and not grant.gpus:
            placed.notices.append(
                f"step '{step.task_name}' asks for no GPU, so it sees none "
                "(CUDA_VISIBLE_DEVICES is empty): ask with "
                "set_accelerator_type('nvidia.com/gpu').set_accelerator_limit(1)"
            )
        self._limits(step, placed)
        return placed

    def started(self, placed: Placed, pid: int) -> list[str]:
        """Move the step's process into its cgroup; the notices this adds (if it cannot)."""
        if placed.cgroup is None:
            return []
        try:
            placed.cgroup.add(pid)
        except OSError as error:
            notice = (
                f"the limits of step '{placed.step.task_name}' are not enforced: its process "
                f"could not join cgroup {placed.cgroup.path} ({error})"
            )
            placed.notices.append(notice)
            return [notice]
        return []

    def finish(self, placed: Placed, outcome: Outcome) -> Outcome:
        """Remove the step's cgroup; an out-of-memory kill gets a reason that says so."""
        group = placed.cgroup
        if group is None:
            return outcome
        killed = group.oom_killed(outcome.exit_code)
        group.remove()
        if killed and outcome.status == "failed":
            limit = placed.step.resources.memory_limit
            reason = (
                f"step '{placed.step.task_name}' used more memory than its limit of {limit} "
                "and was killed: raise set_memory_limit or use less memory"
            )
            return outcome.model_copy(update={"reason": reason})
        return outcome

    def _limits(self, step: StepReady, placed: Placed) -> None:
        resources = step.resources
        memory, cpu = resources.memory_limit, resources.cpu_limit
        asked = [f"memory limit {memory}" if memory else "", f"CPU limit {cpu}" if cpu else ""]
        limits = " and ".join(part for part in asked if part)
        if not limits:
            return
        verb = "are" if memory and cpu else "is"
        if isinstance(self.enforcer, str):
            placed.notices.append(
                f"the {limits} of step '{step.task_name}' {verb} not enforced: {self.enforcer}"
            )
            if not self._warned:
                self._warned = True
                log.warning("step limits are not enforced on this machine: %s", self.enforcer)
            return
        try:
            placed.cgroup = self.enforcer.create(
                memory_max=int(parse_quantity(memory)) if memory else None,
                cpu_max=float(parse_quantity(cpu)) if cpu else None,
            )
        except (OSError, ValueError) as error:
            placed.notices.append(
                f"the {limits} of step '{step.task_name}' {verb} not enforced: {error}"
            )
            return
        if cpu and not placed.cgroup.cpu_limited:
            placed.notices.append(
                f"the CPU limit {cpu} of step '{step.task_name}' is not enforced: "
                f"{self.enforcer.cpu_unenforced}"
            )


def _with_env(step: StepReady, env: dict[str, str]) -> StepReady:
    """``step`` whose container also sets ``env`` (as a device plugin adds to a pod)."""
    executor = dict(step.executor)
    container = dict(executor.get("container", executor))
    names = set(env)
    container["env"] = [
        *(item for item in container.get("env") or [] if item.get("name") not in names),
        *({"name": name, "value": value} for name, value in env.items()),
    ]
    if "container" in executor:
        executor["container"] = container
    else:
        executor = container
    return step.model_copy(update={"executor": executor})
