"""The pure renderers of `headrace run`: the step tree, state changes, get and list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from headrace.run_args import RUN_STATES as CLI_RUN_STATES
from headrace.run_render import (
    format_duration,
    render_detail,
    render_list,
    render_tree,
    state_changes,
    step_tree,
)
from headrace_contracts import ArtifactRef, RunView, StepView
from headrace_contracts.run_views import RUN_STATES

NOW = datetime(2025, 3, 9, 12, 1, 0, tzinfo=UTC)


def step(step_id: str, state: str, parent: str = "", **extra: Any) -> StepView:
    kind = extra.pop("kind", "container")
    return StepView(
        step_id=step_id,
        task_name=step_id.rsplit("/", 1)[-1],
        kind=kind,
        parent=parent,
        state=state,
        **extra,
    )


def a_run(state: str = "RUNNING", steps: list[StepView] | None = None, **extra: Any) -> RunView:
    values: dict[str, Any] = {
        "run_id": "sum-20250309-120000-abcdef",
        "pipeline_name": "sum",
        "experiment": "Default",
        "created_at": "2025-03-09T12:00:00+00:00",
    }
    values.update(extra)
    return RunView(state=state, steps=steps or [], **values)


LOOP = [
    step("prepare", "SUCCEEDED", attempts=1, duration_seconds=1.25),
    step("for-loop-2", "RUNNING", kind="loop"),
    step("for-loop-2[0]", "RUNNING", "for-loop-2", kind="iteration"),
    step("for-loop-2[0]/add", "RUNNING", "for-loop-2[0]", attempts=2),
    step("for-loop-2[1]", "SUCCEEDED", "for-loop-2", kind="iteration"),
    step("for-loop-2[1]/add", "CACHED", "for-loop-2[1]", cached=True, cache_source_run_id="old"),
    step("report", "PENDING"),
]


def test_the_tree_indents_each_step_under_its_parent() -> None:
    assert render_tree(a_run(steps=LOOP), now=NOW) == [
        "run sum-20250309-120000-abcdef  RUNNING  pipeline sum  1m00s",
        "  prepare          SUCCEEDED  1.2s",
        "  for-loop-2       RUNNING",
        "    for-loop-2[0]  RUNNING",
        "      add          RUNNING    attempt 2",
        "    for-loop-2[1]  SUCCEEDED",
        "      add          CACHED     cached from old",
        "  report           PENDING",
    ]


def test_children_follow_their_parent_whatever_the_order_given() -> None:
    shuffled = [LOOP[3], LOOP[6], LOOP[2], LOOP[0], LOOP[1]]
    order = [(depth, s.step_id) for depth, s in step_tree(shuffled)]
    assert order == [
        (0, "report"),
        (0, "prepare"),
        (0, "for-loop-2"),
        (1, "for-loop-2[0]"),
        (2, "for-loop-2[0]/add"),
    ]


def test_a_step_whose_parent_is_missing_shows_at_the_top() -> None:
    order = [(d, s.step_id) for d, s in step_tree([step("inner/train", "READY", "inner")])]
    assert order == [(0, "inner/train")]


def test_a_failed_run_shows_exit_code_reason_and_error() -> None:
    failed = step("train", "FAILED", attempts=3, exit_code=1, reason="ValueError: bad C")
    run = a_run(
        "FAILED",
        [failed, step("evaluate", "SKIPPED", reason="upstream failed")],
        finished_at="2025-03-09T12:00:05+00:00",
        error="step 'train' failed",
    )
    assert render_tree(run, now=NOW) == [
        "run sum-20250309-120000-abcdef  FAILED  pipeline sum  5.0s",
        "  train     FAILED   attempt 3  exit 1  ValueError: bad C",
        "  evaluate  SKIPPED  upstream failed",
        "  error: step 'train' failed",
    ]


def test_state_changes_print_only_what_moved() -> None:
    before = a_run(steps=[step("prepare", "READY"), step("train", "PENDING")])
    after = a_run(
        steps=[step("prepare", "SUCCEEDED", duration_seconds=2.0), step("train", "PENDING")]
    )
    assert state_changes(before, after) == ["prepare: SUCCEEDED  2.0s"]
    assert state_changes(after, after) == []


def test_the_first_poll_prints_everything_and_the_end_prints_the_run() -> None:
    first = a_run(steps=[step("prepare", "READY")])
    assert state_changes(None, first) == [
        "prepare: READY",
        "run sum-20250309-120000-abcdef: RUNNING",
    ]
    done = a_run("FAILED", [step("prepare", "FAILED", attempts=1)], error="it broke")
    assert state_changes(first, done) == [
        "prepare: FAILED",
        "run sum-20250309-120000-abcdef: FAILED",
        "  error: it broke",
    ]


def test_a_retry_is_a_change() -> None:
    once = a_run(steps=[step("train", "RUNNING", attempts=1)])
    twice = a_run(steps=[step("train", "RUNNING", attempts=2)])
    assert state_changes(once, twice) == ["train: RUNNING  attempt 2"]


def test_detail_shows_arguments_outputs_and_step_outputs() -> None:
    model = ArtifactRef(name="model", uri="file:///a/model", type="system.Model")
    run = a_run(
        "SUCCEEDED",
        [
            step(
                "train",
                "SUCCEEDED",
                output_parameters={"acc": 0.9},
                output_artifacts={"model": [model]},
            )
        ],
        finished_at="2025-03-09T12:00:30+00:00",
        arguments={"n": 5, "name": "x"},
        output_parameters={"Output": [1, 2]},
        output_artifacts={"model": [model]},
        enable_caching=False,
    )
    assert render_detail(run, now=NOW) == [
        "run         sum-20250309-120000-abcdef",
        "state       SUCCEEDED",
        "pipeline    sum",
        "experiment  Default",
        "created     2025-03-09 12:00:00",
        "finished    2025-03-09 12:00:30",
        "duration    30.0s",
        "caching     off",
        "arguments:",
        "  n = 5",
        "  name = x",
        "outputs:",
        "  Output = [1, 2]",
        "output artifacts:",
        "  model = file:///a/model",
        "steps:",
        "  train  SUCCEEDED",
        "      acc = 0.9",
        "      model -> file:///a/model",
    ]


def test_the_list_is_a_table() -> None:
    runs = [
        a_run(step_states={"SUCCEEDED": 1, "RUNNING": 2, "CACHED": 1}),
        a_run("REJECTED", run_id="x", pipeline_name="", finished_at="2025-03-09T12:00:00+00:00"),
    ]
    assert render_list(runs, now=NOW) == [
        "RUN ID                      PIPELINE  STATE     CREATED              DURATION  STEPS",
        "sum-20250309-120000-abcdef  sum       RUNNING   2025-03-09 12:00:00  1m00s     "
        "2 running, 1 cached, 1 succeeded",
        "x                           -         REJECTED  2025-03-09 12:00:00  0.0s      -",
    ]
    assert render_list([]) == ["No runs."]


def test_durations() -> None:
    assert [format_duration(s) for s in (None, 0.04, 59.94, 61, 3600, 7322)] == [
        "",
        "0.0s",
        "59.9s",
        "1m01s",
        "1h00m",
        "2h02m",
    ]


def test_the_cli_knows_every_run_state() -> None:
    assert CLI_RUN_STATES == RUN_STATES
