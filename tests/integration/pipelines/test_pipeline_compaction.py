"""A finished run compacted by the scheduler's periodic pass answers GetRun (what `headrace
run get|wait|logs` read) exactly as before, still feeds the step cache, and ignores late
messages; on SQLite and PostgreSQL."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Output
from pipeline_harness import Platform, step
from sqlmodel import Session

from headrace.run_logs import read_log
from headrace_runtime import Service, Settings, build_engine, create_tables
from headrace_scheduler.compaction import compact_finished
from headrace_scheduler.state import RunState
from headrace_scheduler.store import RunRow
from headrace_testing import wait_for


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    return settings_on_each_database


@dsl.component
def shout(word: str, out: Output[Dataset]) -> str:
    print(f"shouting {word}")
    with open(out.path, "w") as f:
        f.write(word.upper())
    return word.upper()


@dsl.component
def hear(heard: Input[Dataset]) -> str:
    with open(heard.path) as f:
        return f"heard {f.read()}"


@dsl.pipeline
def echo(words: list = ["a", "b", "c"]) -> str:  # noqa: B006
    with dsl.ParallelFor(words) as word:
        shout(word=word)
    last = shout(word="end")
    return hear(heard=last.outputs["out"]).output


def scheduler_of(platform: Platform) -> Service:
    return next(s for s in platform.services if s.name == "scheduler")


def row_of(service: Service, run_id: str) -> RunRow:
    assert service.engine is not None
    with Session(service.engine) as session:
        row = session.get(RunRow, run_id)
        assert row is not None
        return row


async def test_a_compacted_run_reads_the_same_and_still_serves_the_cache(
    start_platform: Callable[..., Awaitable[Platform]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_SCHEDULER_COMPACT_AFTER_SECONDS", "1")
    monkeypatch.setenv("HEADRACE_SCHEDULER_COMPACT_INTERVAL_SECONDS", "0.2")
    platform = await start_platform()
    scheduler = scheduler_of(platform)
    first = await platform.run(echo)
    assert first.state == "SUCCEEDED"
    assert len(first.steps) > 6  # the loop, its iterations and their steps
    full = row_of(scheduler, first.run_id)
    assert full.spec

    await wait_for(lambda: not row_of(scheduler, first.run_id).spec, 30, "the run compacted")
    small = row_of(scheduler, first.run_id)
    assert len(small.document) < len(full.document) * 0.7
    assert "" not in RunState.model_validate_json(small.document).nodes
    assert await platform.get(first.run_id) == first  # run get, run wait
    shouted = step(first, "shout-2")
    assert shouted is not None
    assert "shouting end" in read_log(shouted.log_uri, what="shout")  # run logs

    # late messages about it change nothing; the cache still serves its outputs
    await platform.cancel(first.run_id)
    await platform.submit(echo, run_id=first.run_id)  # a repeat of its SubmitRun
    second = await platform.run(echo)
    cached = step(second, "shout-2")
    assert cached is not None
    assert cached.cached
    assert cached.cache_source_run_id == first.run_id
    assert second.output_parameters == first.output_parameters == {"Output": "heard END"}
    assert await platform.get(first.run_id) == first
    assert row_of(scheduler, first.run_id).document == small.document


@dsl.component
def hold(gate: str) -> str:
    import os
    import time

    while not os.path.exists(gate):
        time.sleep(0.05)
    return "released"


@dsl.pipeline
def held(gate: str) -> str:
    return hold(gate=gate).output


async def test_only_finished_runs_past_the_age_are_compacted_once(
    platform: Platform, tmp_path: Path
) -> None:
    scheduler = scheduler_of(platform)
    engine = scheduler.engine
    assert engine is not None
    done = await platform.run(echo)
    gate = tmp_path / "gate"
    going = await platform.submit(held, {"gate": str(gate)})
    await platform.wait_step(going, "hold", "RUNNING")
    created = row_of(scheduler, done.run_id).created_at
    assert await asyncio.to_thread(compact_finished, engine, created) == 0  # not older

    later = created.replace(year=created.year + 1)
    assert await asyncio.to_thread(compact_finished, engine, later, batch=1) == 1
    assert not row_of(scheduler, done.run_id).spec
    assert row_of(scheduler, going).spec  # still running: untouched
    assert await platform.get(done.run_id) == done

    gate.touch()
    finished = await platform.wait(going)
    assert finished.output_parameters == {"Output": "released"}
    assert await asyncio.to_thread(compact_finished, engine, later, batch=1) == 1
    assert await asyncio.to_thread(compact_finished, engine, later) == 0  # each run once
    assert await platform.get(going) == finished


def test_a_state_that_does_not_parse_is_left_as_it_is(database_url: str) -> None:
    engine = build_engine(database_url, "scheduler")
    try:
        create_tables(engine, [RunRow])
        made = datetime(2026, 1, 1, tzinfo=UTC)
        good = RunState(run_id="good", state="SUCCEEDED", created_at=made.isoformat())
        with Session(engine) as session:
            for run_id, document in (("broken", "{not json"), ("good", good.model_dump_json())):
                session.add(
                    RunRow(
                        run_id=run_id,
                        state="SUCCEEDED",
                        created_at=made,
                        spec='{"spec": 1}',
                        document=document,
                    )
                )
            session.commit()
        assert compact_finished(engine, made + timedelta(days=1)) == 1
        with Session(engine) as session:
            broken = session.get(RunRow, "broken")
            kept = session.get(RunRow, "good")
            assert broken is not None
            assert kept is not None
            assert (broken.document, broken.spec) == ("{not json", '{"spec": 1}')
            assert (kept.spec, RunState.model_validate_json(kept.document)) == ("", good)
    finally:
        engine.dispose()
