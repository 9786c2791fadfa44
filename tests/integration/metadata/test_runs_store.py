"""The run read model on a real database (SQLite, and PostgreSQL in CI): events merged in
any order build the same rows, duplicates add none, and ``ListRuns`` filters, sorts and
pages over them with a true total."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, func, select

from headrace_contracts import (
    ListRuns,
    Message,
    RunCancelled,
    RunFailed,
    RunList,
    RunStarted,
    RunSucceeded,
    StepSkipped,
    SubmitRun,
)
from headrace_metadata.runs import LabelRow, RunRow, StepRow, counts, list_runs
from headrace_metadata.runs.record import apply
from headrace_metadata.store import TABLES
from headrace_runtime.database import build_engine, create_tables
from headrace_testing.run_events import T0, at, failed_run, succeeded_run

Events = list[tuple[Message, datetime]]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = build_engine(database_url, "metadata")
    create_tables(made, TABLES)
    yield made
    made.dispose()


def record(engine: Engine, events: Events) -> None:
    """One transaction per event, as the service handles them."""
    for message, when in events:
        with Session(engine) as session:
            apply(session, message, when)
            session.commit()


def snapshot(engine: Engine) -> tuple[list[dict[str, Any]], ...]:
    with Session(engine) as session:
        return tuple(
            [r.model_dump() for r in session.exec(select(table).order_by(*keys)).all()]
            for table, keys in (
                (RunRow, [RunRow.run_id]),
                (StepRow, [StepRow.run_id, StepRow.step_id]),
                (LabelRow, [LabelRow.run_id, LabelRow.key]),
            )
        )


def test_events_in_any_order_build_the_same_rows_and_duplicates_add_none(
    engine: Engine, database_url: str
) -> None:
    events = succeeded_run() + failed_run()
    record(engine, events)
    expected = snapshot(engine)
    assert [len(rows) for rows in expected] == [2, 4, 2]
    assert [r["state"] for r in expected[0]] == ["SUCCEEDED", "FAILED"]

    other = build_engine(database_url.replace("headrace-test.db", "other.db"), "metadata2")
    create_tables(other, TABLES)
    try:
        shuffled = events + events[:4]  # the first four arrive twice
        random.Random(3).shuffle(shuffled)
        assert shuffled[0][0] != events[0][0]
        record(other, shuffled)
        assert snapshot(other) == expected
    finally:
        other.dispose()


def test_a_duplicate_submit_changes_nothing(engine: Engine) -> None:
    submit = succeeded_run()[0]
    again = (SubmitRun(run_id="r1", pipeline_spec={}, labels={"team": "b"}), at(30))
    record(engine, [submit, again, submit])
    runs, _, labels = snapshot(engine)
    assert [(r["run_id"], r["created_at"], r["labels"]) for r in runs] == [
        ("r1", at(0), {"team": "a", "tier": "gold"})
    ]
    assert [(row["key"], row["value"]) for row in labels] == [("team", "a"), ("tier", "gold")]


# listing ---------------------------------------------------------------------------------


def fleet() -> Events:
    """30 runs: created one minute apart; every third FAILED, every fifth still RUNNING,
    the rest SUCCEEDED after i seconds; two pipelines, two experiments, labels."""
    events: Events = []
    for i in range(30):
        run_id = f"run-{i:02d}"
        created = T0 + timedelta(minutes=i)
        labels = {"team": "a" if i % 2 else "b"}
        if i % 4 == 0:
            labels["tier"] = "gold"
        events.append(
            (
                SubmitRun(
                    run_id=run_id,
                    pipeline_spec={},
                    experiment="exp-x" if i < 15 else "exp-y",
                    labels=labels,
                ),
                created,
            )
        )
        pipeline = "train" if i % 2 else "score"
        events.append((RunStarted(run_id=run_id, pipeline_name=pipeline), created))
        ended: Message | None = None
        if i % 5 == 0:
            ended = None
        elif i % 3 == 0:
            ended = RunFailed(run_id=run_id, reason="boom")
        else:
            ended = RunSucceeded(run_id=run_id)
        if ended is not None:
            events.append((ended, created + timedelta(seconds=i)))
    return events


@pytest.fixture
def listed(engine: Engine) -> Engine:
    record(engine, fleet())
    return engine


def ask(engine: Engine, **query: Any) -> RunList:
    with Session(engine) as session:
        return list_runs(session, ListRuns(**query))


def ids(reply: RunList) -> list[str]:
    assert reply.error == ""
    return [r.run_id for r in reply.runs]


def numbers(*values: int) -> list[str]:
    return [f"run-{i:02d}" for i in values]


def test_filters_match_every_field_given(listed: Engine) -> None:
    running = [i for i in range(30) if i % 5 == 0]
    assert ids(ask(listed, state="RUNNING")) == numbers(*reversed(running))
    assert ask(listed, state="running").total == len(running)
    failed = [i for i in range(30) if i % 5 and i % 3 == 0]
    assert ids(ask(listed, state="FAILED")) == numbers(*reversed(failed))
    assert ids(ask(listed, pipeline="score", experiment="exp-x", state="SUCCEEDED")) == numbers(
        14, 8, 4, 2
    )
    assert ids(ask(listed, labels={"team": "b", "tier": "gold"})) == numbers(
        28, 24, 20, 16, 12, 8, 4, 0
    )
    assert ids(ask(listed, labels={"team": "a", "tier": "gold"})) == []
    after, before = T0 + timedelta(minutes=3), T0 + timedelta(minutes=6)
    assert ids(ask(listed, created_after=after, created_before=before)) == numbers(5, 4, 3)
    in_paris = timezone(timedelta(hours=1))  # any zone is converted
    same = ask(listed, created_after=after.astimezone(in_paris), created_before=before)
    assert ids(same) == numbers(5, 4, 3)


def test_sorts_by_created_finished_and_duration(listed: Engine) -> None:
    assert ids(ask(listed, limit=3)) == numbers(29, 28, 27)
    assert ids(ask(listed, limit=3, ascending=True)) == numbers(0, 1, 2)
    # unfinished runs sort as finishing last
    assert ids(ask(listed, sort="finished", limit=7)) == numbers(25, 20, 15, 10, 5, 0, 29)
    assert ids(ask(listed, sort="duration", ascending=True, limit=4)) == numbers(1, 2, 3, 4)
    longest = ask(listed, sort="duration", state="SUCCEEDED", limit=1).runs[0]
    assert (longest.run_id, longest.duration_seconds) == ("run-29", 29.0)
    assert longest.created_at == (T0 + timedelta(minutes=29)).isoformat()


@pytest.mark.parametrize(
    ("sort", "ascending", "query"),
    [
        ("created", False, {}),
        ("created", True, {"experiment": "exp-y"}),
        ("finished", False, {}),
        ("duration", True, {"labels": {"team": "a"}}),
        ("duration", False, {"state": "SUCCEEDED"}),
    ],
)
def test_walking_every_page_gives_each_run_once_and_the_true_total(
    listed: Engine, sort: str, ascending: bool, query: dict[str, Any]
) -> None:
    whole = ask(listed, sort=sort, ascending=ascending, limit=1000, **query)
    assert whole.next_page_token == ""
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = ask(listed, sort=sort, ascending=ascending, limit=4, page_token=token, **query)
        assert page.total == whole.total == len(whole.runs)
        assert len(page.runs) <= 4
        seen.extend(ids(page))
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == ids(whole)
    assert len(set(seen)) == len(seen)
    assert pages == max(1, -(-whole.total // 4))


def test_a_page_counts_its_runs_steps_by_state(engine: Engine) -> None:
    loop = StepSkipped(run_id="r1", step_id="for-loop-2", reason="condition is false", kind="loop")
    record(engine, [*succeeded_run(), (loop, at(8.6))])
    (run,) = ask(engine).runs
    assert run.step_states == {"CACHED": 1, "SUCCEEDED": 1, "SKIPPED": 1}
    assert (run.step_count, run.labels, run.steps) == (3, {"team": "a", "tier": "gold"}, [])


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"page_token": "nonsense"}, "page_token 'nonsense' is not a page token of this listing"),
        ({"sort": "size"}, "sort 'size' is not known: sort by created, finished, duration"),
        ({"state": "DONE"}, "state 'DONE' is not known: one of PENDING, RUNNING"),
        ({"labels": {"": "x"}}, "label key '' is not valid: give labels as key=value"),
        (
            {"created_after": T0, "created_before": T0},
            "created_after (2026-12-01T09:00:00+00:00) is not before created_before",
        ),
    ],
)
def test_a_bad_query_is_answered_with_the_reason(
    listed: Engine, query: dict[str, Any], error: str
) -> None:
    reply = ask(listed, **query)
    assert error in reply.error
    assert (reply.runs, reply.total) == ([], 0)


def test_a_token_from_another_sort_is_refused(listed: Engine) -> None:
    token = ask(listed, limit=2).next_page_token
    assert token
    reply = ask(listed, limit=2, sort="duration", page_token=token)
    assert "continues a listing sorted by created (descending), not this one" in reply.error


def test_cancelled_runs_are_listed_by_state(engine: Engine) -> None:
    record(engine, [*succeeded_run("c")[:2], (RunCancelled(run_id="c", reason="stop"), at(3))])
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(RunRow)).one() == 1
    (run,) = ask(engine, state="CANCELLED").runs
    assert (run.error, run.duration_seconds) == ("stop", 2.0)


def counted(engine: Engine) -> dict[str, int]:
    """Runs by state, counted from the rows, and in all."""
    with Session(engine) as session:
        found = session.exec(select(RunRow.state, func.count()).group_by(RunRow.state)).all()
    return {"": sum(n for _, n in found), **{state: n for state, n in found}}


def kept(engine: Engine) -> dict[str, int | None]:
    with Session(engine) as session:
        return {state: counts.total(session, state) for state in counted(engine)}


def test_the_kept_counts_equal_the_rows_through_any_order_a_backfill_and_a_removal(
    engine: Engine,
) -> None:
    # A store with runs and no counts yet (made before they existed) is filled in once.
    record(engine, failed_run("old"))
    with Session(engine) as session:
        assert counts.total(session) is None
        assert counts.ensure(session)
    with Session(engine) as session:
        assert not counts.ensure(session)  # once only
    events = succeeded_run("a") + failed_run("b") + succeeded_run("c")[:3]
    events += [(RunStarted(run_id="orphan", pipeline_name="p"), at(2))]  # a placeholder
    shuffled = events + events[:5]
    random.Random(11).shuffle(shuffled)
    record(engine, shuffled)
    assert kept(engine) == counted(engine)
    assert counted(engine)["FAILED"] == 2
    assert ask(engine, state="FAILED").total == 2
    with Session(engine) as session:  # as retention removes runs
        counts.add(session, counts.removed(session, ["old", "a"]))
        session.execute(delete(RunRow).where(col(RunRow.run_id).in_(["old", "a"])))
        session.commit()
    assert kept(engine) == counted(engine)
    assert ask(engine).total == counted(engine)[""] == 3


def test_count_changes_of_new_moved_and_removed_runs() -> None:
    moves: list[tuple[str | None, str | None]] = [
        (None, "PENDING"),
        (None, "RUNNING"),
        ("RUNNING", "SUCCEEDED"),
        ("FAILED", "FAILED"),
        ("SUCCEEDED", None),
    ]
    assert counts.changes(moves) == {"all": 1, "state:PENDING": 1}
