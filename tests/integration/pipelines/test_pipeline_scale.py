"""Replicas share the work and nothing runs twice; many runs at once all finish."""

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from kfp import dsl
from pipeline_harness import Platform

StartPlatform = Callable[..., Awaitable[Platform]]


@dsl.component
def mark(folder: str, i: int) -> int:
    import os

    with open(os.path.join(folder, str(i)), "a") as f:
        f.write("x")
    return i


@dsl.component
def total(xs: list) -> int:
    return sum(xs)


@dsl.pipeline
def wide(folder: str, items: list) -> int:
    with dsl.ParallelFor(items) as i:
        m = mark(folder=folder, i=i)
    return total(xs=dsl.Collected(m.output)).output


@dsl.component
def inc(x: int) -> int:
    return x + 1


@dsl.pipeline
def three(x: int) -> int:
    return inc(x=inc(x=inc(x=x).output).output).output


@pytest.mark.slow
async def test_two_replicas_each_run_50_parallel_steps_exactly_once(
    start_platform: StartPlatform, tmp_path: Path
) -> None:
    platform = await start_platform(schedulers=2, trainers=2, concurrency=4)
    run = await platform.run(
        wide, {"folder": str(tmp_path), "items": list(range(50))}, enable_caching=False
    )
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == sum(range(50))
    marks = {n: (tmp_path / n).read_text() for n in os.listdir(tmp_path) if n.isdigit()}
    assert marks == {str(i): "x" for i in range(50)}
    steps = [s for s in run.steps if s.kind == "container"]
    assert {s.state for s in steps} == {"SUCCEEDED"}
    assert {s.attempts for s in steps} == {1}
    # both launcher replicas took a share of the steps
    assert {s.worker for s in steps} == {"trainer-0", "trainer-1"}


@pytest.mark.slow
async def test_200_runs_submitted_at_once_all_succeed(start_platform: StartPlatform) -> None:
    platform = await start_platform(concurrency=4)
    run_ids = [await platform.submit(three, {"x": i}, enable_caching=False) for i in range(200)]
    finished = [await platform.wait(run_id, timeout=300) for run_id in run_ids]
    assert [r.state for r in finished] == ["SUCCEEDED"] * 200
    assert [r.output_parameters["Output"] for r in finished] == [i + 3 for i in range(200)]
