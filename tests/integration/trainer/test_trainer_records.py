"""The records a step leaves for a trainer that adopts it, and the trainer's step ledger.

Real fork servers, real subprocesses, real files. (No ``from __future__ import
annotations``: kfp reads component annotations as types.)
"""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from kfp import dsl
from trainer_support import Recorder, step_ready

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import StepFailed, StepReady, StepSucceeded
from headrace_runtime import Service, Settings
from headrace_testing import wait_for
from headrace_trainer.app import build
from headrace_trainer.config import TrainerSettings
from headrace_trainer.executor import Outcome, Runner, SubprocessRunner, execute
from headrace_trainer.executor.runner import Records
from headrace_trainer.forkserver import records
from headrace_trainer.forkserver.client import ForkServerRunner
from headrace_trainer.ledger import Ledger

Trainer = Callable[..., Awaitable[Service]]


@dsl.component(base_image="python:3.11")
def touch(marker: str) -> str:
    with open(marker, "a") as file:
        file.write("ran\n")
    return "done"


@dsl.component(base_image="python:3.11")
def held(marker: str, release: str) -> str:
    import pathlib
    import time

    with open(marker, "a") as file:
        file.write("ran\n")
    deadline = time.time() + 60
    while not pathlib.Path(release).exists() and time.time() < deadline:
        time.sleep(0.02)
    return "done"


@dsl.container_component
def exits(marker: str, code: int) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'echo ran >> "$0"; exit "$1"'],
        args=[marker, code],
    )


@pytest.fixture(params=["fork-server", "subprocess"])
async def runner(request: pytest.FixtureRequest) -> AsyncIterator[Runner]:
    if request.param == "subprocess":
        yield SubprocessRunner()
        return
    forking = ForkServerRunner()
    await forking.open()
    yield forking
    await forking.close()


def record_paths(folder: Path) -> Records:
    folder.mkdir(parents=True, exist_ok=True)
    return Records(process=folder / "process.json", exit=folder / "exit.json")


def read(path: Path) -> dict[str, object]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


async def test_a_python_step_leaves_its_process_and_exit_records(
    runner: Runner, store: FileStore, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    step = step_ready(touch, store, tmp_path, parameters={"marker": str(marker)})
    paths = record_paths(tmp_path / "records")

    outcome = await execute(step, store, tmp_path / "work", runner, records=paths)

    assert outcome.status == "succeeded", outcome.reason
    process, ended = read(paths.process), read(paths.exit)
    assert process["pid"] == ended["pid"]
    assert isinstance(process["start"], int)
    assert process["start"] > 0
    assert ended["exit"] == 0
    assert marker.read_text() == "ran\n"


async def test_a_command_step_leaves_its_exit_code(
    runner: Runner, store: FileStore, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    step = step_ready(
        exits,
        store,
        tmp_path,
        parameters={"marker": str(marker), "code": 3},
        allow_host_containers=True,
    )
    paths = record_paths(tmp_path / "records")

    outcome = await execute(step, store, tmp_path / "work", runner, records=paths)

    assert outcome.status == "failed"
    assert outcome.reason == "step 'exits' exited with code 3"
    assert read(paths.exit) == {"pid": read(paths.process)["pid"], "exit": 3}
    assert marker.read_text() == "ran\n"


async def test_a_voided_execution_never_runs(
    runner: Runner, store: FileStore, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    step = step_ready(touch, store, tmp_path, parameters={"marker": str(marker)})
    paths = record_paths(tmp_path / "records")
    assert records.void(str(paths.process))

    outcome = await execute(step, store, tmp_path / "work", runner, records=paths)

    assert outcome.status == "failed"
    assert outcome.reason == "step 'touch' exited with code 75"
    assert not marker.exists()
    assert not records.claim(str(paths.process))  # voided for good


async def test_a_missing_program_is_named_through_the_fork_server(
    store: FileStore, tmp_path: Path
) -> None:
    runner = ForkServerRunner()
    await runner.open()
    try:
        step = step_ready(
            exits,
            store,
            tmp_path,
            parameters={"marker": str(tmp_path / "m"), "code": 0},
            allow_host_containers=True,
        )
        container = {**step.executor, "command": ["no-such-program-here"], "args": []}
        step = step.model_copy(update={"executor": container})
        outcome = await execute(
            step, store, tmp_path / "work", runner, records=record_paths(tmp_path / "r")
        )
    finally:
        await runner.close()
    assert outcome.status == "failed"
    assert outcome.reason == (
        "step 'exits' runs command 'no-such-program-here', which was not found on this machine: "
        "install it, put it on PATH, or run the step on the Kubernetes backend"
    )


async def test_one_step_delivered_twice_runs_once(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer(concurrency=2)
    marker, release = tmp_path / "marker", tmp_path / "release"
    step = step_ready(
        held, store, tmp_path, parameters={"marker": str(marker), "release": str(release)}
    )
    await client.publish(step)
    await wait_for(marker.exists, what="the step to run")
    await client.publish(step)  # a second message for the same attempt, while it runs
    stream = client.connection.jetstream()

    async def both_taken() -> bool:
        info = await stream.consumer_info(client.config.stream, "trainer")
        return info.num_ack_pending == 2

    for _ in range(750):  # until the second delivery waits for the attempt's lock
        if await both_taken():
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the trainer did not take the second delivery within 15 s")
    release.touch()

    await wait_for(lambda: len(recorder.of(StepSucceeded, step.step_id)) == 2, what="both")
    assert marker.read_text() == "ran\n"
    assert {done.output_parameters["Output"] for done in recorder.of(StepSucceeded)} == {"done"}


async def test_a_step_stopped_with_its_trainer_runs_again_after_the_restart(
    settings: Settings, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    quick = Settings(**{**settings.model_dump(), "ack_wait": 1.0})
    marker, release = tmp_path / "marker", tmp_path / "release"
    step = step_ready(
        held, store, tmp_path, parameters={"marker": str(marker), "release": str(release)}
    )
    first = build(quick, trainer=TrainerSettings())
    await first.start()
    try:
        await client.publish(step)
        await wait_for(marker.exists, what="the step to run")
    finally:
        await first.stop()  # kills the step: it is marked to run again, not failed
    release.touch()
    second = build(quick, trainer=TrainerSettings())
    await second.start()
    try:
        await recorder.first(StepSucceeded, step.step_id, timeout=30)
    finally:
        await second.stop()
    assert marker.read_text() == "ran\nran\n"
    assert not recorder.of(StepFailed, step.step_id)


def test_prune_removes_old_finished_attempts_and_keeps_the_rest(
    store: FileStore, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "work")

    async def finish(step: StepReady) -> None:
        async with ledger.hold(step) as attempt:
            attempt.finish(Outcome(status="succeeded"))

    old = step_ready(touch, store, tmp_path, run_id="old", parameters={"marker": "m"})
    new = step_ready(touch, store, tmp_path, run_id="new", parameters={"marker": "m"})
    asyncio.run(finish(old))
    for path in [ledger.folder(old), *ledger.folder(old).iterdir()]:
        os.utime(path, (0, 0))
    asyncio.run(finish(new))

    assert ledger.prune(3600) == 1
    assert not (tmp_path / "work" / "old").exists()
    assert (ledger.folder(new) / "outcome.json").is_file()


async def test_a_recorded_outcome_is_published_without_running_the_step(
    trainer: Trainer,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "marker"
    step = step_ready(touch, store, tmp_path, parameters={"marker": str(marker)})
    async with Ledger(settings.home / "work").hold(step) as attempt:
        # What a trainer killed after the step ended, before its events went out, left.
        attempt.finish(Outcome(status="succeeded", output_parameters={"Output": "recorded"}))
    await trainer()
    await client.publish(step)

    done = await recorder.first(StepSucceeded, step.step_id)
    assert done.output_parameters == {"Output": "recorded"}
    assert not marker.exists()
