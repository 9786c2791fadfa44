"""Conditions, type conversions and the final status in the run machine, as KFP's driver does."""

from collections.abc import Callable
from typing import Any

from kfp import dsl
from kfp.dsl import PipelineTaskFinalStatus
from run_driver import Driver

from headrace_scheduler.effects import Finished

Compile = Callable[[Any], dict[str, Any]]
PARAM = "inputs.parameter_values['pipelinechannel--x']"


@dsl.component
def num(x: int) -> int:
    return x


@dsl.component
def show(s: str) -> str:
    return s


@dsl.component
def fail() -> None:
    raise SystemExit(1)


@dsl.component
def seven() -> int:
    return 7


@dsl.component
def report(status: PipelineTaskFinalStatus) -> str:
    return status.state


@dsl.pipeline
def branch(x: int = 3) -> None:
    with dsl.If(x == 1):
        num(x=x)
    show(s="after")


def with_condition(spec: dict[str, Any], condition: str) -> dict[str, Any]:
    spec["root"]["dag"]["tasks"]["condition-1"]["triggerPolicy"]["condition"] = condition
    return spec


def succeed(node: Any) -> tuple[Any, ...]:
    if node.task == "fail":
        return ("fail", "exited with code 1")
    if node.task == "report":
        return ("ok", {"Output": node.parameters["status"]["state"]}, {})
    return ("ok", {"Output": next(iter(node.parameters.values()), None)}, {})


def test_integer_division_truncates_so_the_branch_runs(compile_spec: Compile) -> None:
    spec = with_condition(compile_spec(branch), f"int({PARAM}) / 2 == 1")
    driver = Driver(spec, {"x": 3}).start(succeed)
    assert driver.node("condition-1").state == "SUCCEEDED"
    assert driver.node("condition-1/num").parameters == {"x": 3}
    assert driver.finished() == [Finished("SUCCEEDED")]
    skipped = Driver(spec, {"x": 4}).start(succeed)
    assert skipped.node("condition-1").state == "SKIPPED"
    assert skipped.node("condition-1").reason == "condition is false"
    assert skipped.finished() == [Finished("SUCCEEDED")]


def test_a_condition_that_cannot_be_evaluated_fails_its_task_and_the_run(
    compile_spec: Compile,
) -> None:
    condition = f"int({PARAM}) / 0 == 1"
    driver = Driver(with_condition(compile_spec(branch), condition), {"x": 3}).start(succeed)
    task = driver.node("condition-1")
    assert task.state == "FAILED"
    assert task.reason == f"condition {condition!r} could not be evaluated: divide by zero"
    assert driver.run.error == f"task 'condition-1' failed: {task.reason}"
    assert driver.run.failed_steps == ["condition-1"]
    assert "condition-1/num" not in [n for n, _, _ in driver.launched]
    assert driver.finished() == [Finished("FAILED")]


def test_a_condition_on_a_parameter_without_value_fails_naming_it(compile_spec: Compile) -> None:
    @dsl.pipeline
    def gated() -> None:
        made = num(x=1)
        with dsl.If(made.output == 1):
            show(s="yes")

    driver = Driver(compile_spec(gated)).start(
        lambda node: ("ok", {}, {}) if node.task == "num" else succeed(node)
    )
    task = driver.node("condition-1")
    assert task.state == "FAILED"
    assert task.reason == (
        "condition \"int(inputs.parameter_values['pipelinechannel--num-Output']) == 1\" reads "
        "parameter 'pipelinechannel--num-Output', which has no value: its producer 'num' did "
        "not succeed"
    )
    assert driver.finished() == [Finished("FAILED")]


def test_a_failed_condition_still_runs_the_exit_handler_with_the_error(
    compile_spec: Compile,
) -> None:
    @dsl.pipeline
    def guarded(x: int = 3) -> None:
        final = report()
        with dsl.ExitHandler(final), dsl.If(x == 1):
            num(x=x)

    spec = compile_spec(guarded)
    inner = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]["condition-2"]
    inner["triggerPolicy"]["condition"] = f"int({PARAM}) % 0 == 1"
    driver = Driver(spec, {"x": 3}).start(succeed)
    assert driver.node("exit-handler-1/condition-2").state == "FAILED"
    status = driver.node("report").parameters["status"]
    assert status["state"] == "FAILED"
    assert status["pipelineTaskName"] == status["pipeline_task_name"] == "exit-handler-1"
    assert status["pipelineJobResourceName"] == status["pipeline_job_resource_name"] == "run-1"
    assert status["error"]["code"] == 2
    assert status["error"]["message"] == (
        f"task 'exit-handler-1/condition-2' failed: condition \"int({PARAM}) % 0 == 1\" could "
        "not be evaluated: modulus by zero"
    )
    assert driver.finished() == [Finished("FAILED")]


def test_final_status_of_a_success_has_an_empty_error(compile_spec: Compile) -> None:
    @dsl.pipeline
    def guarded() -> None:
        final = report()
        with dsl.ExitHandler(final):
            num(x=1)

    driver = Driver(compile_spec(guarded)).start(succeed)
    status = driver.node("report").parameters["status"]
    assert status == {
        "state": "SUCCEEDED",
        "pipelineJobResourceName": "run-1",
        "pipelineTaskName": "exit-handler-1",
        "pipeline_job_resource_name": "run-1",
        "pipeline_task_name": "exit-handler-1",
        "error": {},
    }


def test_a_list_or_dict_loop_item_reaches_a_str_input_as_json_text(
    compile_spec: Compile,
) -> None:
    @dsl.pipeline
    def loop(items: list = [{"a": 1, "b": [1, 2.5]}, [3, "x"]]) -> None:  # noqa: B006
        with dsl.ParallelFor(items) as item:
            show(s=item)

    driver = Driver(compile_spec(loop)).start(succeed)
    texts = sorted(p["s"] for n, _, p in driver.launched)
    assert texts == ['[3,"x"]', '{"a":1,"b":[1,2.5]}']
    assert driver.finished() == [Finished("SUCCEEDED")]


def test_a_value_kfp_cannot_convert_fails_the_task_naming_the_input(
    compile_spec: Compile,
) -> None:
    @dsl.pipeline
    def wrong() -> None:
        num(x=seven().output)

    def text_for_an_int(node: Any) -> tuple[Any, ...]:
        return ("ok", {"Output": "seven"}, {}) if node.task == "seven" else succeed(node)

    driver = Driver(compile_spec(wrong)).start(text_for_an_int)
    task = driver.node("num")
    assert task.state == "FAILED"
    assert task.reason.startswith(
        "task 'num', inputs.parameters['x']: expects NUMBER_INTEGER (int) but got string "
        '"seven": KFP converts only to a str input'
    )
    assert driver.finished() == [Finished("FAILED")]
