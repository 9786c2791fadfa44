"""Cancelling, limiting, delaying and recovering steps in the trainer service.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kfp import dsl
from trainer_support import Recorder, step_ready

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import CancelStep, StepCancelled, StepStarted, StepSucceeded
from headrace_runtime import Service
from headrace_testing import wait_for
from headrace_trainer.executor import SubprocessRunner, execute
from headrace_trainer.forkserver.client import ForkServerRunner

Trainer = Callable[..., Awaitable[Service]]


@dsl.component(base_image="python:3.11")
def napper(marker: str, ignore_term: bool) -> None:
    import pathlib
    import signal
    import time

    if ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pathlib.Path(marker).write_text("ready")
    time.sleep(60)


@dsl.component(base_image="python:3.11")
def stamp(folder: str, index: int) -> float:
    import pathlib
    import time

    start = time.time()
    time.sleep(0.3)
    pathlib.Path(folder, f"{index}").write_text(f"{start} {time.time()}")
    return start


async def test_cancel_terminates_a_running_step(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    marker = tmp_path / "ready"
    step = step_ready(
        napper, store, tmp_path, parameters={"marker": str(marker), "ignore_term": False}
    )
    await client.publish(step)
    await recorder.first(StepStarted, step.step_id)
    await wait_for(marker.exists, what="the step to start sleeping")
    await client.publish(
        CancelStep(run_id=step.run_id, step_id=step.step_id, grace_seconds=30, reason="user")
    )
    cancelled = await recorder.first(StepCancelled, step.step_id)
    assert cancelled.reason == "user"


async def test_cancel_kills_a_step_that_ignores_sigterm_after_the_grace(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    marker = tmp_path / "ready"
    step = step_ready(
        napper, store, tmp_path, parameters={"marker": str(marker), "ignore_term": True}
    )
    await client.publish(step)
    await wait_for(marker.exists, what="the step to ignore SIGTERM and sleep")
    await client.publish(CancelStep(run_id=step.run_id, step_id=step.step_id, grace_seconds=0.3))
    cancelled = await recorder.first(StepCancelled, step.step_id)
    assert cancelled.reason == "cancelled on request"


async def test_step_ready_after_its_cancel_is_not_run(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    await asyncio.sleep(0.1)  # let the trainer's CancelStep subscription settle
    step = step_ready(
        napper, store, tmp_path, parameters={"marker": str(tmp_path / "m"), "ignore_term": False}
    )
    await client.publish(CancelStep(run_id=step.run_id, step_id=step.step_id, reason="run ended"))
    await asyncio.sleep(0.2)
    await client.publish(step)
    cancelled = await recorder.first(StepCancelled, step.step_id)
    assert cancelled.reason == "run ended"
    assert not recorder.of(StepStarted, step.step_id)


async def test_concurrency_limit_is_respected(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer(concurrency=2)
    folder = tmp_path / "stamps"
    folder.mkdir()
    steps = [
        step_ready(
            stamp,
            store,
            tmp_path,
            step_id=f"root/stamp[{index}]",
            parameters={"folder": str(folder), "index": index},
        )
        for index in range(5)
    ]
    for step in steps:
        await client.publish(step)
    await wait_for(lambda: len(recorder.of(StepSucceeded)) == 5, what="five steps")
    spans = [tuple(map(float, path.read_text().split())) for path in folder.iterdir()]
    overlaps = [sum(1 for s, e in spans if s <= start < e) for start, _ in spans]
    assert max(overlaps) <= 2
    assert max(overlaps) == 2  # the limit is a limit, not one at a time


async def test_retry_waits_for_not_before(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    not_before = datetime.now(UTC) + timedelta(seconds=1)
    step = step_ready(
        stamp,
        store,
        tmp_path,
        parameters={"folder": str(tmp_path), "index": 0},
        attempt=2,
        not_before=not_before.isoformat(),
    )
    await client.publish(step)
    done = await recorder.first(StepSucceeded, step.step_id)
    assert done.attempt == 2
    assert done.output_parameters["Output"] >= not_before.timestamp()


async def test_dead_fork_server_falls_back_and_restarts(store: FileStore, tmp_path: Path) -> None:
    runner = ForkServerRunner(restart_delay=0.05)
    await runner.open()
    try:
        assert runner.server is not None
        first_pid = runner.server.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        await wait_for(lambda: runner.server is not None and not runner.server.alive)
        step = step_ready(stamp, store, tmp_path, parameters={"folder": str(tmp_path), "index": 1})
        outcome = await execute(step, store, tmp_path / "work", runner)
        assert outcome.status == "succeeded", outcome.reason
        await wait_for(
            lambda: (
                runner.server is not None and runner.server.alive and runner.server.pid != first_pid
            ),
            what="a new fork server",
        )
        again = await execute(step, store, tmp_path / "work-2", runner)
        assert again.status == "succeeded", again.reason
    finally:
        await runner.close()


async def test_plain_subprocess_runner_runs_python_components(
    store: FileStore, tmp_path: Path
) -> None:
    step = step_ready(stamp, store, tmp_path, parameters={"folder": str(tmp_path), "index": 2})
    outcome = await execute(step, store, tmp_path / "work", SubprocessRunner())
    assert outcome.status == "succeeded", outcome.reason
    assert isinstance(outcome.output_parameters["Output"], float)
