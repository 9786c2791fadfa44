"""Steps survive a trainer restart: ``kill -9`` of the trainer (a real process of its own)
in the middle of a run, then a new trainer on the same Headrace home, and every step ran
exactly once: the new trainer adopts the steps still running or already finished.

The scheduler and metadata run in-process; each step appends one line per execution to an
effects file, which the tests count. (No ``from __future__ import annotations``: kfp reads
component annotations as types.)
"""

import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from kfp import dsl
from pipeline_harness import Platform

from headrace_runtime import Settings
from headrace_testing import ServiceProcess, lock_held, wait_for


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite, and on PostgreSQL when CI gives one."""
    return settings_on_each_database


@dsl.component(base_image="python:3.11")
def link(folder: str, name: str, value: int, hold: bool) -> int:
    import os
    import pathlib
    import time

    with open(pathlib.Path(folder) / "effects.txt", "a") as effects:
        effects.write(name + "\n")
    pathlib.Path(folder, f"pids-{name}").write_text(f"{os.getpid()} {os.getppid()}")
    release = pathlib.Path(folder) / "release"
    deadline = time.time() + 120
    while hold and not release.exists() and time.time() < deadline:
        time.sleep(0.02)
    return value + 1


@dsl.pipeline(name="restart-chain")
def chain(folder: str) -> None:
    value = 0
    for index in range(1, 7):
        step = link(folder=folder, name=f"s{index}", value=value, hold=index == 4)
        step.set_caching_options(False)
        value = step.output  # type: ignore[assignment]


@dsl.pipeline(name="restart-fan")
def fan(folder: str) -> None:
    with dsl.ParallelFor(items=list(range(20))) as item:
        step = link(folder=folder, name=f"item-{item}", value=item, hold=True)
        step.set_caching_options(False)


@pytest.fixture
async def trainers(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[Callable[[], ServiceProcess]]:
    """``trainers()``: a new trainer process on the test's home (not started yet); a short
    ack wait, so a message a killed trainer held comes back quickly."""
    made: list[ServiceProcess] = []

    def make() -> ServiceProcess:
        name = f"trainer-{len(made) + 1}"
        quick = {"ack_wait": 2.0, "outbox_interval": 0.05, "instance_id": name}
        made.append(
            ServiceProcess(
                "headrace-trainer",
                Settings(**{**settings.model_dump(), **quick}),
                tmp_path / f"{name}.log",
                HEADRACE_TRAINER_CONCURRENCY="4",
            )
        )
        return made[-1]

    yield make
    for trainer in made:
        await trainer.stop()


def effects(folder: Path) -> Counter[str]:
    path = folder / "effects.txt"
    return Counter(path.read_text().split()) if path.exists() else Counter()


def pids(folder: Path, name: str) -> tuple[int, int]:
    pid, parent = (folder / f"pids-{name}").read_text().split()
    return int(pid), int(parent)


async def test_a_chain_survives_kill_9_of_the_trainer_while_a_step_runs(
    start_platform: Callable[..., Awaitable[Platform]],
    trainers: Callable[[], ServiceProcess],
    settings: Settings,
    tmp_path: Path,
) -> None:
    platform = await start_platform(trainers=0)
    folder = tmp_path / "effects"
    folder.mkdir()
    first = trainers()
    await first.start()
    run_id = await platform.submit(chain, {"folder": str(folder)})
    await wait_for(lambda: effects(folder)["s4"] == 1, 60, "step 4 to run")
    await first.kill()

    second = trainers()
    await second.start()
    locks = settings.home / "work"
    await wait_for(
        lambda: any(lock_held(lock) for lock in locks.glob("*/*link-4*/attempt-1/lock")),
        60,
        "the new trainer to adopt step 4",
    )
    (folder / "release").touch()  # step 4 ends while the new trainer follows it
    run = await platform.wait(run_id, 90)

    assert run.state == "SUCCEEDED", run.error
    assert effects(folder) == Counter({f"s{index}": 1 for index in range(1, 7)})


async def test_a_parallel_for_survives_kill_9_of_the_trainer(
    start_platform: Callable[..., Awaitable[Platform]],
    trainers: Callable[[], ServiceProcess],
    tmp_path: Path,
) -> None:
    platform = await start_platform(trainers=0)
    folder = tmp_path / "effects"
    folder.mkdir()
    first = trainers()
    await first.start()
    run_id = await platform.submit(fan, {"folder": str(folder)})
    await wait_for(lambda: sum(effects(folder).values()) >= 4, 60, "four iterations to run")
    await first.kill()
    (folder / "release").touch()  # the running iterations end while no trainer watches

    second = trainers()
    await second.start()
    run = await platform.wait(run_id, 120)

    assert run.state == "SUCCEEDED", run.error
    assert effects(folder) == Counter({f"item-{index}": 1 for index in range(20)})


async def test_a_step_whose_process_died_with_the_trainer_runs_again(
    start_platform: Callable[..., Awaitable[Platform]],
    trainers: Callable[[], ServiceProcess],
    tmp_path: Path,
) -> None:
    platform = await start_platform(trainers=0)
    folder = tmp_path / "effects"
    folder.mkdir()
    first = trainers()
    await first.start()
    run_id = await platform.submit(chain, {"folder": str(folder)})
    await wait_for(lambda: (folder / "pids-s4").exists(), 60, "step 4 to run")
    step_pid, fork_server = pids(folder, "s4")
    await first.kill()
    os.kill(fork_server, signal.SIGKILL)  # nobody is left to record how step 4 ends
    os.killpg(step_pid, signal.SIGKILL)
    (folder / "release").touch()

    second = trainers()
    await second.start()
    run = await platform.wait(run_id, 90)

    assert run.state == "SUCCEEDED", run.error
    assert effects(folder) == Counter({"s1": 1, "s2": 1, "s3": 1, "s4": 2, "s5": 1, "s6": 1})
