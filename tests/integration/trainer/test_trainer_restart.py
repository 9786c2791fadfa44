"""A trainer process killed with ``kill -9`` while its step runs, and a new one that adopts
the step: cancel and timeout still reach the adopted step's processes, the timeout counted
from the step's real start. (No ``from __future__ import annotations``: kfp reads component
annotations as types.)
"""

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from kfp import dsl
from trainer_support import Recorder, step_ready

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import CancelStep, StepCancelled, StepFailed
from headrace_runtime import Settings
from headrace_testing import ServiceProcess, lock_held, wait_for
from headrace_trainer.forkserver.records import process_state


@dsl.component(base_image="python:3.11")
def ticker(folder: str) -> None:
    import os
    import pathlib
    import time

    start = time.time()
    pathlib.Path(folder, "pid").write_text(str(os.getpid()))
    beat = pathlib.Path(folder, "beat")
    fresh = pathlib.Path(folder, "beat.new")
    while time.time() < start + 60:
        # replaced whole, so a kill in the middle of a write leaves the last beat readable
        fresh.write_text(f"{start} {time.time()}")
        os.replace(fresh, beat)
        time.sleep(0.05)


@pytest.fixture
async def trainers(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[Callable[..., ServiceProcess]]:
    """``trainers(**env)``: a new trainer process on the test's home (not started yet); a
    short ack wait, so a message a killed trainer held comes back quickly."""
    made: list[ServiceProcess] = []

    def make(**env: str) -> ServiceProcess:
        name = f"trainer-{len(made) + 1}"
        quick = Settings(**{**settings.model_dump(), "ack_wait": 1.0, "instance_id": name})
        made.append(ServiceProcess("headrace-trainer", quick, tmp_path / f"{name}.log", **env))
        return made[-1]

    yield make
    for trainer in made:
        await trainer.stop()


def beats(folder: Path) -> tuple[float, float]:
    """(the step's start, its last heartbeat), by its own clock readings."""
    try:
        start, last = (folder / "beat").read_text().split()
    except (FileNotFoundError, ValueError):
        return 0.0, 0.0
    return float(start), float(last)


def held(home: Path) -> bool:
    """Whether a trainer holds the (only) step attempt's lock."""
    return any(lock_held(lock) for lock in home.glob("work/*/*/attempt-*/lock"))


def running(folder: Path) -> bool:
    return process_state(int((folder / "pid").read_text())) is not None


async def test_an_adopted_step_is_timed_out_from_its_real_start(
    trainers: Callable[..., ServiceProcess],
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "step"
    folder.mkdir()
    step = step_ready(
        ticker, store, tmp_path, parameters={"folder": str(folder)}, timeout_seconds=12
    )
    first = trainers()
    await first.start()
    await client.publish(step)
    await wait_for(lambda: beats(folder)[1] > 0, 60, "the step to run")
    await first.kill()
    # Long enough unwatched that a timeout counted from the adoption would show; the
    # timeout leaves a slow machine time to start the new trainer before it runs out.
    await wait_for(lambda: beats(folder)[1] - beats(folder)[0] >= 3, 30, "3 s of the step")

    second = trainers()
    await second.start()
    await wait_for(lambda: held(settings.home), 60, "the new trainer to adopt the step")
    adopted = time.time()
    failed = await recorder.first(StepFailed, step.step_id, timeout=30)

    assert failed.reason == (
        "step 'ticker' ran longer than its timeout of 12 s and was killed: raise the task's "
        "timeout or make it faster"
    )
    assert failed.exit_code == -15  # SIGTERM first, so it can clean up; SIGKILL 10 s later
    start, last = beats(folder)
    assert last - start >= 11.5  # it had (about) its full time, counted from its start ...
    assert last < max(start + 12, adopted) + 1.5  # ... not from its adoption
    assert not running(folder)


@pytest.mark.parametrize("fork_server", ["true", "false"])
async def test_an_adopted_step_is_cancelled(
    fork_server: str,
    trainers: Callable[..., ServiceProcess],
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "step"
    folder.mkdir()
    step = step_ready(ticker, store, tmp_path, parameters={"folder": str(folder)})
    first = trainers(HEADRACE_TRAINER_FORK_SERVER=fork_server)
    await first.start()
    await client.publish(step)
    await wait_for(lambda: beats(folder)[1] > 0, 60, "the step to run")
    await first.kill()

    second = trainers()
    await second.start()
    await wait_for(lambda: held(settings.home), 60, "the new trainer to adopt the step")
    await client.publish(CancelStep(run_id=step.run_id, step_id=step.step_id, reason="user"))
    cancelled = await recorder.first(StepCancelled, step.step_id, timeout=30)

    assert cancelled.reason == "user"
    await wait_for(lambda: not running(folder), 10, "the step's process to end")
