"""A spec that cannot run is refused with an error naming the task and the field."""

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kfp import dsl

from headrace_pipelines import SpecError, bind_arguments, compile_plan, load_pipeline, parse_text

Compile = Callable[[Any], dict[str, Any]]


@dsl.component
def produce(n: int) -> int:
    return n


@dsl.component
def consume(x: int) -> int:
    return x


@dsl.pipeline
def two_steps(n: int, xs: list = [1, 2], flag: bool = False) -> int:  # noqa: B006
    a = produce(n=n)
    return consume(x=a.output).output


def test_a_kfp_pipeline_compiles_into_a_plan(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(two_steps))
    assert plan.name == "two-steps"
    assert set(plan.tasks["root"]) == {"produce", "consume"}
    assert plan.tasks["root"]["consume"].upstream == frozenset({"produce"})
    assert plan.step_count() == 2


def test_arguments_keep_their_types_and_defaults_are_filled(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(two_steps))
    bound = bind_arguments(plan, {"n": 3})
    # kfp compiles the default [1, 2] through protobuf as [1.0, 2.0]; ints come back.
    assert bound == {"n": 3, "xs": [1, 2], "flag": False}
    assert all(type(v) is int for v in bound["xs"])
    assert bind_arguments(plan, {"n": 3.0, "xs": [1, {"a": 2}]})["xs"] == [1, {"a": 2}]


def test_missing_required_parameter_is_refused(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(two_steps))
    with pytest.raises(SpecError, match=r"parameter 'n'.*required.*-p n=VALUE"):
        bind_arguments(plan, {})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n": "three"}, r"parameter 'n': expects NUMBER_INTEGER \(int\) but got str"),
        ({"n": 1.5}, r"parameter 'n': expects NUMBER_INTEGER"),
        ({"n": True}, r"parameter 'n': expects NUMBER_INTEGER"),
        ({"n": 1, "xs": {"a": 1}}, r"parameter 'xs': expects LIST"),
        ({"n": 1, "flag": "yes"}, r"parameter 'flag': expects BOOLEAN"),
        ({"n": 1, "nope": 1}, r"has no parameter 'nope'"),
    ],
)
def test_wrong_argument_types_are_refused(
    compile_spec: Compile, arguments: dict[str, Any], message: str
) -> None:
    plan = compile_plan(compile_spec(two_steps))
    with pytest.raises(SpecError, match=message):
        bind_arguments(plan, arguments)


def test_cli_text_is_parsed_per_declared_type() -> None:
    assert parse_text("5", "NUMBER_INTEGER", name="n") == 5
    assert parse_text("5", "STRING", name="s") == "5"
    assert parse_text("[1, 2.5]", "LIST", name="xs") == [1, 2.5]
    assert parse_text("true", "BOOLEAN", name="b") is True
    with pytest.raises(SpecError, match="'n'"):
        parse_text("five", "NUMBER_INTEGER", name="n")


def _mutated(spec: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(spec)
    change(copied)
    return copied


def _consume_inputs(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["root"]["dag"]["tasks"]["consume"]["inputs"]["parameters"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: _consume_inputs(s)["x"]["taskOutputParameter"].update(
                outputParameterKey="missing"
            ),
            r"task 'consume', inputs.parameters\['x'\]: reads output parameter 'missing' of "
            r"task 'produce', which declares no such output",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["produce"].update(dependentTasks=["consume"]),
            r"cycle: consume -> produce -> consume|cycle: produce -> consume -> produce",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["consume"]["componentRef"].update(name="comp-x"),
            r"task 'consume', componentRef.name: refers to component 'comp-x'",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["consume"].update(colour="blue"),
            r"not a valid KFP PipelineSpec: .*colour",
        ),
        (
            lambda s: s.update(schemaVersion="3.0.0"),
            r"schemaVersion: schemaVersion '3.0.0' is not supported",
        ),
        (
            lambda s: _consume_inputs(s).pop("x"),
            r"task 'consume', inputs.parameters\['x'\]: does not set required input parameter",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["consume"].update(
                triggerPolicy={"condition": "inputs.parameter_values['a'] == "}
            ),
            r"task 'consume', triggerPolicy.condition: \"inputs.parameter_values\['a'\] == \" is "
            r"not valid CEL: at column 33: Syntax error: mismatched input '<EOF>'",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["consume"].update(
                triggerPolicy={"condition": "inputs.parameter_values['nope'] == 1"}
            ),
            r"task 'consume', triggerPolicy.condition: condition "
            r"\"inputs.parameter_values\['nope'\] == 1\" reads parameter 'nope', which is not "
            r"one of the task's inputs \(its inputs: 'x'\)",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["consume"].update(
                triggerPolicy={"condition": "-'a' == 1"}
            ),
            r"task 'consume', triggerPolicy.condition: \"-'a' == 1\" is not valid CEL: at "
            r"column 1: found no matching overload for '-_' applied to '\(string\)'",
        ),
        (
            lambda s: _consume_inputs(s)["x"].update(parameterExpressionSelector="parseJson("),
            r"task 'consume', inputs.parameters\['x'\].parameterExpressionSelector: "
            r"'parseJson\(' is not valid CEL: at column 11: Syntax error",
        ),
        (
            lambda s: s["deploymentSpec"]["executors"]["exec-consume"].update(
                container={"image": ""}
            ),
            r"task 'consume'.*container.image: its container has no image",
        ),
        (
            lambda s: s["deploymentSpec"]["executors"].update(
                {"exec-consume": {"resolver": {"outputArtifactQueries": {}}}}
            ),
            r"task 'consume', deploymentSpec.executors\['exec-consume'\]: executor 'exec-consume' "
            r"is a resolver executor; Headrace runs container and importer executors",
        ),
    ],
    ids=[
        "undeclared-output",
        "cycle",
        "unknown-component",
        "unknown-field",
        "schema-version",
        "missing-input",
        "bad-condition",
        "condition-on-missing-parameter",
        "condition-negates-a-string",
        "bad-selector",
        "no-image",
        "unsupported-executor",
    ],
)
def test_malformed_specs_are_refused_naming_task_and_field(
    compile_spec: Compile, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    spec = _mutated(compile_spec(two_steps), change)
    with pytest.raises(SpecError, match=message):
        compile_plan(spec)


def test_loading_reads_yaml_text_and_refuses_garbage() -> None:
    with pytest.raises(SpecError, match="not valid YAML"):
        load_pipeline("root: [unclosed\n")
    with pytest.raises(SpecError, match="is a list, not a mapping"):
        load_pipeline("- a\n- b\n")
    spec, platform = load_pipeline("root: {dag: {}}\n---\nplatforms: {}\n")
    assert spec == {"root": {"dag": {}}}
    assert platform == {"platforms": {}}
