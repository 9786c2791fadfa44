"""The run read model's merge (pure): any arrival order and any duplicates give the same
rows, and those rows say what the run did."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest

from headrace_contracts import Message, RunStarted, StepReady, StepStarted
from headrace_metadata.rows import table_of
from headrace_metadata.runs.drafts import RunDraft, StepDraft, columns_of
from headrace_metadata.runs.fold import apply_run, apply_step, new_run, new_step
from headrace_metadata.runs.fold import duration as run_duration
from headrace_metadata.runs.tables import NOT_FINISHED, RunRow, StepRow
from headrace_testing.run_events import at, failed_run, succeeded_run

Events = list[tuple[Message, datetime]]


def fold(events: Events) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """The run row, its step rows and the labels written, as plain dicts."""
    run: RunDraft | None = None
    steps: dict[str, StepDraft] = {}
    labels: list[str] = []
    for message, when in events:
        run_id: str = getattr(message, "run_id")  # noqa: B009
        run = run or new_run(run_id, when)
        if apply_run(run, message, when):
            labels.extend(f"{k}={v}" for k, v in getattr(message, "labels").items())  # noqa: B009
        step_id = getattr(message, "step_id", None)
        if step_id is not None:
            step = steps.setdefault(step_id, new_step(run_id, step_id))
            apply_step(step, message, when)
    assert run is not None
    return columns_of(run), {k: columns_of(s) for k, s in steps.items()}, sorted(labels)


@pytest.mark.parametrize("events", [succeeded_run(), failed_run()], ids=["succeeded", "failed"])
def test_every_arrival_order_and_duplicate_gives_the_same_rows(events: Events) -> None:
    expected = fold(events)
    shuffler = random.Random(8)
    for _ in range(200):
        shuffled = list(events) + shuffler.sample(events, k=3)  # three duplicates
        shuffler.shuffle(shuffled)
        assert fold(shuffled) == expected


def test_the_rows_of_a_run_that_succeeded_after_a_retry() -> None:
    run, steps, labels = fold(succeeded_run())
    assert run["state"] == "SUCCEEDED"
    assert (run["pipeline_name"], run["experiment"], run["display_name"]) == (
        "train-pipeline",
        "exp",
        "first",
    )
    assert run["arguments"] == {"lr": 0.1}
    assert run["labels"] == {"team": "a", "tier": "gold"}
    assert labels == ["team=a", "tier=gold"]
    assert (run["created_at"], run["started_at"], run["finished_at"]) == (at(0), at(1), at(9))
    assert run["duration_order"] == 8.0
    assert run["step_count"] == 3
    assert run["output_artifacts"]["model"][0]["uri"] == "file:///a/model"
    train = steps["train"]
    assert (train["state"], train["attempts"], train["worker"]) == ("SUCCEEDED", 2, "w2")
    assert (train["started_at"], train["finished_at"]) == (at(6), at(8))
    assert (train["reason"], train["exit_code"], train["log_uri"]) == ("", None, "file:///l2")
    assert train["duration_seconds"] == 1.25
    assert (steps["prep"]["state"], steps["prep"]["cached"]) == ("CACHED", True)
    assert steps["prep"]["cache_source_run_id"] == "r0"
    assert steps["prep"]["output_parameters"] == {"n": 3}
    assert (steps["report"]["state"], steps["report"]["reason"]) == ("SKIPPED", "condition false")


def test_a_failed_step_shows_its_reason_and_its_loop_parent() -> None:
    run, steps, _ = fold(failed_run())
    assert (run["state"], run["error"]) == ("FAILED", "step add failed")
    add = steps["for-loop-2[0]/add"]
    assert (add["state"], add["reason"], add["parent"], add["task_name"]) == (
        "FAILED",
        "exit 2",
        "for-loop-2[0]",
        "add",
    )


def test_a_final_state_is_never_undone_by_a_late_event() -> None:
    events = succeeded_run()
    late = [
        (RunStarted(run_id="r1", pipeline_name="train-pipeline", step_count=3), at(20)),
        (StepStarted(run_id="r1", step_id="x"), at(21)),
    ]
    run, _, _ = fold(events + late)
    assert (run["state"], run["finished_at"]) == ("SUCCEEDED", at(9))


def test_a_retry_makes_a_failed_step_ready_again() -> None:
    events = succeeded_run()[:7]  # ... train failed on attempt 1, attempt 2 is READY
    _, steps, _ = fold(events)
    train = steps["train"]
    assert (train["state"], train["attempts"], train["reason"]) == ("READY", 2, "")
    assert train["finished_at"] is None


def test_a_step_event_before_the_submit_makes_a_running_placeholder() -> None:
    step: tuple[Message, datetime] = (
        StepReady(run_id="early", step_id="a", task_name="a", executor={}),
        at(5),
    )
    run, steps, _ = fold([step])
    assert (run["state"], run["submitted"], run["created_at"]) == ("RUNNING", False, at(5))
    assert run["finished_order"] == NOT_FINISHED
    assert steps["a"]["state"] == "READY"
    submit = succeeded_run("early")[0]
    run, _, labels = fold([step, submit])
    assert (run["state"], run["submitted"], run["created_at"]) == ("RUNNING", True, at(0))
    assert labels == ["team=a", "tier=gold"]


def test_an_unfinished_run_has_no_duration() -> None:
    row = new_run("r", at(0))
    assert run_duration(row) is None


@pytest.mark.parametrize(("draft", "table"), [(RunDraft, RunRow), (StepDraft, StepRow)])
def test_a_draft_has_its_tables_columns_and_defaults(draft: Any, table: Any) -> None:
    columns = {c.name for c in table_of(table).c}
    assert set(draft.__dataclass_fields__) == columns
    when = at(0)
    keys = {"run_id": "r", "step_id": "s", "created_at": when}
    made = {k: v for k, v in keys.items() if k in columns}
    assert columns_of(draft(**made)) == table(**made).model_dump()
