"""The scheduler's state, optimistic locking and cache on SQLite and on PostgreSQL."""

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from kfp import dsl
from pipeline_harness import Platform, step

StartPlatform = Callable[..., Awaitable[Platform]]


@dsl.component
def touch(folder: str, i: int) -> int:
    import os

    with open(os.path.join(folder, f"{i}"), "a") as f:
        f.write("x")
    return i * i


@dsl.component
def total(xs: list) -> int:
    return sum(xs)


@dsl.pipeline
def squares(folder: str, items: list) -> int:
    with dsl.ParallelFor(items) as i:
        t = touch(folder=folder, i=i)
    return total(xs=dsl.Collected(t.output)).output


@pytest.mark.postgres
async def test_two_schedulers_share_one_database_and_cache(
    start_platform: StartPlatform, database_url: str, tmp_path: Path
) -> None:
    platform = await start_platform(schedulers=2, trainers=1, database_url=database_url)
    args = {"folder": str(tmp_path), "items": list(range(12))}
    first = await platform.run(squares, args)
    assert first.state == "SUCCEEDED", first.error
    assert first.output_parameters == {"Output": sum(i * i for i in range(12))}
    second = await platform.run(squares, args)
    assert second.state == "SUCCEEDED", second.error
    cached = [s for s in second.steps if s.kind == "container"]
    assert all(s.state == "CACHED" for s in cached), [(s.step_id, s.state) for s in cached]
    assert all((tmp_path / str(i)).read_text() == "x" for i in range(12))
    totals = step(second, "total")
    assert totals is not None
    assert totals.cache_source_run_id == first.run_id
