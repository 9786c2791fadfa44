"""A pipeline step's execution as a gang of one replica on a `WorkloadBackend`.

The launcher plans a step (`executor.execute`) as it always did, and hands the process to
start to a `GangRunner`: that starts it as the one replica (role ``step``) of the gang
``step/<run>/<step>/<attempt>``, attempt = the execution's number, with the step's
resources, its records in the execution's ledger folder, and its process started by the
step's own runner (the warm fork server, or its Python environment's). What `execute` then
waits for is the backend's account of that replica (`GangProcess`); cancel and timeout are
the backend's `stop` (`stopper`), and a step a dead trainer left is `adopt`ed.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from headrace_contracts import StepReady

from .backends.base import Gang, ReplicaLaunch, ReplicaResources, ReplicaState, WorkloadBackend
from .errors import ForkServerDied, GangStopped, StepLost, UnknownGang
from .executor.control import StepControl, Stop
from .executor.runner import Launch, Runner, Running

__all__ = ["ROLE", "GangProcess", "GangRunner", "gang_id", "stopper"]

ROLE = "step"
log = logging.getLogger("headrace.trainer.stepgang")


def gang_id(step: StepReady) -> str:
    """The id of the gangs that run ``step``'s attempt (one per execution)."""
    return f"step/{step.run_id}/{step.step_id}/{step.attempt}"


def stopper(backend: WorkloadBackend, gang: str) -> Stop:
    """A `StepControl`'s stop: the backend's `stop` of ``gang``, asked at once and followed
    in a task; nothing when the gang is not (or no longer) on the backend."""
    following: set[asyncio.Future[tuple[ReplicaState, ...]]] = set()

    def done(task: asyncio.Future[tuple[ReplicaState, ...]]) -> None:
        following.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("stopping gang %s failed: %s", gang, task.exception())

    def stop(grace: float) -> None:
        try:
            stopping = backend.stop(gang, grace=grace)
        except UnknownGang:
            return  # not started: `GangRunner.start` sees the cancel and starts nothing
        task = asyncio.ensure_future(stopping)
        following.add(task)
        task.add_done_callback(done)

    return stop


class GangProcess:
    """The step's replica as the backend reports it: `wait` gives its exit code; raises
    `StepLost` (an adopted step ended unrecorded: it runs again) or `ForkServerDied` (the
    runner that started it stopped, so its result is unknown)."""

    def __init__(
        self, backend: WorkloadBackend, gang: str, pid: int, *, adopted: bool = False
    ) -> None:
        self.backend = backend
        self.gang = gang
        self._pid = pid
        self.adopted = adopted

    @property
    def pid(self) -> int:
        return self._pid

    async def wait(self) -> int:
        (state,) = await self.backend.wait(self.gang)
        if state.exit_code is not None:
            return state.exit_code
        if self.adopted:
            raise StepLost(state.reason)
        raise ForkServerDied(state.reason or "the step's process ended unrecorded: run it again")


class GangRunner:
    """A `Runner` for `execute`: the launch as a one-replica gang on ``backend``."""

    def __init__(
        self,
        backend: WorkloadBackend,
        gang: str,
        *,
        attempt: int,
        resources: ReplicaResources,
        records: Path,
        runner: Runner,
        control: StepControl,
    ) -> None:
        self.backend = backend
        self.gang = gang
        self.attempt = attempt
        self.resources = resources
        self.records = records
        self.runner = runner
        self.control = control

    async def start(self, launch: Launch) -> Running:
        if self.control.cancel_reason is not None:  # nothing awaited from here to the start
            raise GangStopped(f"gang '{self.gang}' was stopped before it started")
        replica = ReplicaLaunch(
            role=ROLE,
            index=0,
            argv=tuple(launch.argv),
            env=dict(launch.env),
            cwd=launch.cwd,
            resources=self.resources,
            python=launch.python,
        )
        gang = Gang(self.gang, (replica,), attempt=self.attempt, records=self.records)
        handle = await self.backend.start(gang, runner=self.runner)
        return GangProcess(self.backend, self.gang, handle.replicas[0].pid or 0)
