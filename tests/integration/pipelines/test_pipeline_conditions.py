"""CEL conditions, type-boundary conversions and the final status, with real kfp pipelines.

Each test starts one platform (real nats-server, scheduler, trainer, metadata) and submits
its runs side by side.
"""

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from kfp import dsl
from kfp.dsl import PipelineTaskFinalStatus
from pipeline_harness import Platform, compile_pipeline, states, step

from headrace_runtime import Settings

PARAM = "inputs.parameter_values['pipelinechannel--x']"


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite, and on PostgreSQL when CI gives one."""
    return settings_on_each_database


@dsl.component
def echo(s: str) -> str:
    return s


@dsl.component
def received(s: str) -> str:
    # what the step got, with its Python type, so the test sees the conversion
    return f"{type(s).__name__}:{s}"


@dsl.component
def crash() -> None:
    raise RuntimeError("the model diverged")


@dsl.component
def report(status: PipelineTaskFinalStatus, path: str) -> str:
    import json

    fields = {
        "state": status.state,
        "pipeline_job_resource_name": status.pipeline_job_resource_name,
        "pipeline_task_name": status.pipeline_task_name,
        "error_code": status.error_code,
        "error_message": status.error_message,
    }
    with open(path, "w") as f:
        json.dump(fields, f)
    return status.state


@dsl.pipeline
def gated(x: int, s: str = "text") -> None:
    with dsl.If(x == 1):
        echo(s="taken")


def with_condition(folder: Path, condition: str) -> dict[str, Any]:
    spec = copy.deepcopy(compile_pipeline(gated, folder))
    task = spec["root"]["dag"]["tasks"]["condition-1"]
    task["triggerPolicy"]["condition"] = condition
    task["inputs"]["parameters"]["pipelinechannel--s"] = {"componentInputParameter": "s"}
    return spec


async def test_conditions_follow_cel_and_a_failing_one_fails_the_run(platform: Platform) -> None:
    halves = f"int({PARAM}) / 2 == 1"
    by_zero = f"int({PARAM}) / 0 == 1"
    negated = "-inputs.parameter_values['pipelinechannel--s'] == 1"
    runs = {
        name: await platform.submit(with_condition(platform.folder, condition), arguments)
        for name, condition, arguments in [
            ("taken", halves, {"x": 3}),  # 3 / 2 == 1 in CEL (1.5 in Python)
            ("skipped", halves, {"x": 4}),
            ("by-zero", by_zero, {"x": 3}),
            ("negated", negated, {"x": 3}),
        ]
    }
    done = dict(
        zip(runs, await asyncio.gather(*(platform.wait(r) for r in runs.values())), strict=True)
    )

    assert done["taken"].state == "SUCCEEDED", done["taken"].error
    taken = step(done["taken"], "condition-1/echo")
    assert taken is not None
    assert taken.output_parameters == {"Output": "taken"}
    assert done["skipped"].state == "SUCCEEDED", done["skipped"].error
    assert states(done["skipped"])["condition-1"] == "SKIPPED"
    assert step(done["skipped"], "condition-1/echo") is None

    for name, condition, reason in [
        ("by-zero", by_zero, "divide by zero"),
        ("negated", negated, "No matching overloads found : -_(string)"),
    ]:
        run = done[name]
        expected = f"condition {condition!r} could not be evaluated: {reason}"
        assert run.state == "FAILED"
        assert run.error == f"task 'condition-1' failed: {expected}"
        task = step(run, "condition-1")
        assert task is not None
        assert task.state == "FAILED"
        assert task.reason == expected
        assert step(run, "condition-1/echo") is None  # nothing behind it started


async def test_a_condition_that_is_not_valid_cel_is_rejected_at_submit(
    platform: Platform,
) -> None:
    broken = f"int({PARAM}) / 2 == 1 &&"
    missing = "inputs.parameter_values['pipelinechannel--nope'] == 'a'"
    invalid, unknown = await asyncio.gather(
        platform.run(with_condition(platform.folder, broken), {"x": 3}),
        platform.run(with_condition(platform.folder, missing), {"x": 3}),
    )
    assert invalid.state == "REJECTED"
    assert invalid.error.startswith(
        f"task 'condition-1', triggerPolicy.condition: {broken!r} is not valid CEL: at column "
        f"{len(broken) + 1}: Syntax error: mismatched input '<EOF>'"
    )
    assert unknown.state == "REJECTED"
    assert unknown.error.startswith(
        f"task 'condition-1', triggerPolicy.condition: condition {missing!r} reads parameter "
        "'pipelinechannel--nope', which is not one of the task's inputs (its inputs: "
        "'pipelinechannel--s', 'pipelinechannel--x')"
    )


@dsl.component
def make_items() -> list:
    return [
        {"name": "a", "shape": [2, 3], "opts": {"lr": 0.1}},
        {"name": "b", "shape": [], "opts": {}},
    ]


@dsl.pipeline
def items_as_text(rows: list) -> list:
    with dsl.ParallelFor(rows) as row:
        whole = received(s=row)
    made = make_items()
    with dsl.ParallelFor(made.output) as item:
        received(s=item.shape)
        received(s=item.opts)
    return dsl.Collected(whole.output)


async def test_list_and_dict_values_reach_a_str_input_as_json_text(platform: Platform) -> None:
    run = await platform.run(items_as_text, {"rows": [{"b": 1, "a": [1, 2.5]}, [3, "x"], 7]})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == [
        'str:{"a":[1,2.5],"b":1}',  # compact, keys sorted: KFP's driver writes protobuf JSON
        'str:[3,"x"]',
        "str:7",
    ]
    outputs = {
        s.step_id: s.output_parameters["Output"]
        for s in run.steps
        if s.step_id.startswith("for-loop-2[") and "/" in s.step_id
    }
    assert outputs == {
        "for-loop-2[0]/received-2": "str:[2,3]",
        "for-loop-2[0]/received-3": 'str:{"lr":0.1}',
        "for-loop-2[1]/received-2": "str:[]",
        "for-loop-2[1]/received-3": "str:{}",
    }


@dsl.pipeline
def guarded(path: str) -> None:
    final = report(path=path)
    with dsl.ExitHandler(final):
        crash()


async def test_exit_handler_sees_the_final_status_kfp_fills_in(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "status.json"
    run_id = await platform.submit(guarded, {"path": str(path)}, run_id="final-status-1")
    run = await platform.wait(run_id)
    assert run.state == "FAILED"
    assert states(run)["report"] == "SUCCEEDED"
    status = json.loads(path.read_text())
    crashed = step(run, "exit-handler-1/crash")
    assert crashed is not None
    assert crashed.state == "FAILED"
    assert status == {
        "state": "FAILED",
        "pipeline_job_resource_name": "final-status-1",
        "pipeline_task_name": "exit-handler-1",
        "error_code": 2,
        "error_message": (
            "step 'exit-handler-1/crash' failed: step 'crash' exited with code 1: "
            "RuntimeError: the model diverged"
        ),
    }
    assert crashed.reason == "step 'crash' exited with code 1: RuntimeError: the model diverged"
