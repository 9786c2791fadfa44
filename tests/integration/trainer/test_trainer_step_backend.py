"""Steps reach their processes only through the workload backend: a real `LocalBackend`,
wrapped to record what the launcher asks of it, runs a lightweight step through the warm
fork server, stops a cancelled one, and stops one still waiting for its CPUs before it
starts anything. (No ``from __future__ import annotations``: kfp reads component
annotations as types.)
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from decimal import Decimal
from pathlib import Path

import pytest
from kfp import dsl
from trainer_support import step_ready

from headrace_artifacts import FileStore
from headrace_contracts import CancelStep, Message, Resources, StepCancelled, StepSucceeded
from headrace_testing import wait_for
from headrace_trainer.backends import Gang, GangEvent, GangHandle, Rendezvous, ReplicaState
from headrace_trainer.backends.local import LocalBackend
from headrace_trainer.capacity import Demand, Machine
from headrace_trainer.executor import Launch, Runner, SubprocessRunner
from headrace_trainer.executor.runner import Records
from headrace_trainer.forkserver.client import ForkServerRunner
from headrace_trainer.launcher import LocalLauncher
from headrace_trainer.placement import Placement


@dsl.component(base_image="python:3.11")
def double(x: int) -> int:
    return 2 * x


@dsl.component(base_image="python:3.11")
def sleeper(marker: str) -> None:
    import pathlib
    import time

    pathlib.Path(marker).write_text("ready")
    time.sleep(60)


class Recording:
    """A `WorkloadBackend` that is a real `LocalBackend`, recording each call."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.calls: list[tuple[str, str]] = []
        self.started: list[tuple[Gang, Runner | None]] = []
        self.raised: list[BaseException] = []

    async def rendezvous(self, gang_id: str, *, ports: int = 1) -> Rendezvous:
        self.calls.append(("rendezvous", gang_id))
        return await self.backend.rendezvous(gang_id, ports=ports)

    def refusal(self, gang: Gang) -> str | None:
        self.calls.append(("refusal", gang.id))
        return self.backend.refusal(gang)

    async def start(self, gang: Gang, *, runner: Runner | None = None) -> GangHandle:
        self.calls.append(("start", gang.id))
        self.started.append((gang, runner))
        try:
            return await self.backend.start(gang, runner=runner)
        except BaseException as error:
            self.raised.append(error)
            raise

    def events(self, gang_id: str) -> AsyncIterator[GangEvent]:
        self.calls.append(("events", gang_id))
        return self.backend.events(gang_id)

    def logs(
        self, gang_id: str, role: str, index: int, *, follow: bool = False
    ) -> AsyncIterator[str]:
        self.calls.append(("logs", gang_id))
        return self.backend.logs(gang_id, role, index, follow=follow)

    def states(self, gang_id: str) -> tuple[ReplicaState, ...]:
        self.calls.append(("states", gang_id))
        return self.backend.states(gang_id)

    async def wait(self, gang_id: str) -> tuple[ReplicaState, ...]:
        self.calls.append(("wait", gang_id))
        return await self.backend.wait(gang_id)

    def stop(self, gang_id: str, *, grace: float = 10.0) -> Awaitable[tuple[ReplicaState, ...]]:
        self.calls.append(("stop", gang_id))
        return self.backend.stop(gang_id, grace=grace)

    async def adopt(self, gang_id: str, *, records: Path | None = None) -> GangHandle | None:
        self.calls.append(("adopt", gang_id))
        return await self.backend.adopt(gang_id, records=records)

    def recorded(self) -> list[str]:
        return self.backend.recorded()

    async def remove(self, gang_id: str) -> None:
        self.calls.append(("remove", gang_id))
        await self.backend.remove(gang_id)

    def asked(self, gang_id: str) -> list[str]:
        return [call for call, gang in self.calls if gang == gang_id]


async def _announce(message: Message, event_id: str) -> None:
    return None


@pytest.fixture
async def fork_runner() -> AsyncIterator[ForkServerRunner]:
    runner = ForkServerRunner()
    await runner.open()
    yield runner
    await runner.close()


def launcher_on(
    tmp_path: Path, runner: Runner, cpus: int = 2
) -> tuple[LocalLauncher, Recording, Placement, FileStore]:
    placement = Placement(Machine(cpus=Decimal(cpus), memory=4 * 1024**3), "no cgroups here")
    backend = Recording(LocalBackend(tmp_path / "gangs", placement.capacity, concurrency=2))
    store = FileStore(tmp_path / "artifacts")
    launcher = LocalLauncher(
        store=store,
        work_root=tmp_path / "work",
        runner=runner,
        worker="test",
        announce=_announce,
        placement=placement,
        backend=backend,
    )
    return launcher, backend, placement, store


async def test_a_step_runs_as_a_one_replica_gang_through_the_fork_server(
    fork_runner: ForkServerRunner, tmp_path: Path
) -> None:
    launcher, backend, _, store = launcher_on(tmp_path, fork_runner)
    step = step_ready(double, store, tmp_path, parameters={"x": 21}, step_id="root/double")

    ((succeeded, _),) = await launcher.run(step, "cause-1")

    assert isinstance(succeeded, StepSucceeded)
    assert succeeded.output_parameters == {"Output": 42}
    gang = "step/run-1/root/double/1"
    asked = backend.asked(gang)
    assert (asked[0], asked[-1]) == ("start", "remove")
    assert "wait" in asked
    ((started, runner),) = backend.started
    assert runner is fork_runner  # the warm fork server started the replica's process
    (replica,) = started.replicas
    assert (replica.role, replica.index, replica.python is not None) == ("step", 0, True)
    assert started.records == launcher.ledger.folder(step) / "exec-1"  # the ledger's folder
    assert fork_runner.server is not None
    assert fork_runner.server.alive


async def test_a_cancelled_step_is_stopped_through_the_backend(
    fork_runner: ForkServerRunner, tmp_path: Path
) -> None:
    launcher, backend, _, store = launcher_on(tmp_path, fork_runner)
    marker = tmp_path / "ready"
    step = step_ready(sleeper, store, tmp_path, parameters={"marker": str(marker)})
    running = asyncio.create_task(launcher.run(step, "cause-1"))
    await wait_for(marker.exists, 30, "the step to start sleeping")

    await launcher.cancel(CancelStep(run_id=step.run_id, step_id=step.step_id, reason="user"))
    ((cancelled, _),) = await asyncio.wait_for(running, 30)

    assert isinstance(cancelled, StepCancelled)
    assert cancelled.reason == "user"
    assert "stop" in backend.asked(f"step/run-1/{step.step_id}/1")


async def test_a_step_cancelled_while_it_waits_for_its_cpus_never_starts(
    tmp_path: Path,
) -> None:
    launcher, backend, placement, store = launcher_on(tmp_path, SubprocessRunner(), cpus=1)
    held = await placement.capacity.admit(Demand(cpus=Decimal(1)), asyncio.Event())
    assert held is not None
    marker = tmp_path / "ready"
    step = step_ready(
        sleeper,
        store,
        tmp_path,
        parameters={"marker": str(marker)},
        resources=Resources(cpu_request="1"),
    )
    running = asyncio.create_task(launcher.run(step, "cause-1"))
    await wait_for(lambda: bool(backend.started), 30, "the step's gang to wait for its CPU")

    await launcher.cancel(CancelStep(run_id=step.run_id, step_id=step.step_id, reason="user"))
    ((cancelled, _),) = await asyncio.wait_for(running, 30)

    assert isinstance(cancelled, StepCancelled)
    assert [type(error).__name__ for error in backend.raised] == ["GangStopped"]
    assert not marker.exists()
    await placement.capacity.release(held)
    assert placement.capacity.cpus == Decimal(1)  # the stopped gang holds nothing


async def test_an_execution_left_without_a_gang_record_is_ended_and_run_again(
    tmp_path: Path,
) -> None:
    launcher, backend, _, store = launcher_on(tmp_path, SubprocessRunner())
    step = step_ready(double, store, tmp_path, parameters={"x": 4}, step_id="root/double")
    folder = launcher.ledger.folder(step) / "exec-1"
    folder.mkdir(parents=True)
    # What a trainer from before steps ran on the backend left: records, no gang.json.
    older = await SubprocessRunner().start(
        Launch(
            argv=["sleep", "60"],
            cwd=folder,
            log_path=folder / "log.txt",
            records=Records(folder / "process.json", folder / "exit.json"),
        )
    )
    await wait_for((folder / "process.json").exists, 10, "the older process to claim its record")

    ((succeeded, _),) = await launcher.run(step, "cause-1")

    assert isinstance(succeeded, StepSucceeded)
    assert succeeded.output_parameters == {"Output": 8}
    assert await asyncio.wait_for(older.wait(), 10) == -9
    assert backend.asked("step/run-1/root/double/1")[0] == "adopt"
    assert [gang.attempt for gang, _ in backend.started] == [2]  # execution 2
