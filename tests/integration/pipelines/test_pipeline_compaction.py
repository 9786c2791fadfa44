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
from sqlmodel import Session, select

from headrace.run_logs import read_log
from headrace_runtime import Service, Settings, build_engine, create_tables
from headrace_scheduler import store
from headrace_scheduler.compaction import compact_finished
from headrace_scheduler.state import Node, RunState
from headrace_scheduler.store import NodeRow, RunRow
from headrace_scheduler.views import run_view
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


def stored_size(service: Service, run_id: str) -> int:
    """What the scheduler stores of the run: its row's spec and document and its node rows."""
    assert service.engine is not None
    with Session(service.engine) as session:
        row = session.get(RunRow, run_id)
        assert row is not None
        nodes = session.exec(select(NodeRow.document).where(NodeRow.run_id == run_id)).all()
        return len(row.spec) + len(row.document) + sum(len(text) for text in nodes)


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
    assert row_of(scheduler, first.run_id).spec
    full = stored_size(scheduler, first.run_id)

    await wait_for(lambda: not row_of(scheduler, first.run_id).spec, 30, "the run compacted")
    small = row_of(scheduler, first.run_id)
    assert stored_size(scheduler, first.run_id) < full * 0.5
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


def test_a_state_that_does_not_parse_is_left_and_a_whole_one_gets_node_rows(
    database_url: str,
) -> None:
    engine = build_engine(database_url, "scheduler")
    try:
        create_tables(engine, [RunRow, NodeRow])
        made = datetime(2026, 1, 1, tzinfo=UTC)
        good = RunState(run_id="good", state="SUCCEEDED", created_at=made.isoformat())
        with Session(engine) as session:
            legacy = RunState(
                run_id="legacy",
                state="FAILED",
                error="step 'b' failed",
                nodes={
                    "": Node(id="", task="", kind="dag", scope="", component="root"),
                    "a": Node(
                        id="a",
                        task="a",
                        kind="container",
                        scope="",
                        component="comp-a",
                        state="SUCCEEDED",
                        parameters={"x": list(range(100))},
                        out_parameters={"Output": 1},
                        log_uri="file:///logs/a",
                    ),
                    "b": Node(
                        id="b",
                        task="b",
                        kind="container",
                        scope="",
                        component="comp-b",
                        state="FAILED",
                        reason="exited with code 1",
                        exit_code=1,
                    ),
                },
            )
            stored = (
                ("broken", "{not json"),
                ("good", good.model_dump_json()),
                ("legacy", legacy.model_dump_json()),  # saved whole, before nodes had rows
            )
            for run_id, document in stored:
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
        assert compact_finished(engine, made + timedelta(days=1)) == 2
        with Session(engine) as session:
            broken = session.get(RunRow, "broken")
            kept = session.get(RunRow, "good")
            assert broken is not None
            assert kept is not None
            assert (broken.document, broken.spec) == ("{not json", '{"spec": 1}')
            assert kept.spec == ""
            found = store.load(session, "legacy")
            assert found is not None
            assert run_view(found[1]) == run_view(legacy)
            assert [n.id for n in found[1].nodes.values()] == ["a", "b"]
            assert (
                RunState.model_validate_json(kept.document).model_copy(update={"revision": ""})
                == good
            )
    finally:
        engine.dispose()
