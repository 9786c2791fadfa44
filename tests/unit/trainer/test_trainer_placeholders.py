"""Placeholder resolution against ExecutorInputs built the way the executor builds them.

(No ``from __future__ import annotations``: kfp reads the component annotations as types.)
"""

import json
from collections.abc import Callable
from typing import Any, Optional

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from headrace_trainer.errors import PlaceholderError
from headrace_trainer.executor import (
    LocalArtifact,
    PipelineInfo,
    build_executor_input,
    resolve_args,
    resolve_string,
)

INFO = PipelineInfo(pipeline_name="pipe", run_id="run-1", task_name="train", step_id="root/t")


def executor_input(**parameters: Any) -> dict[str, Any]:
    return build_executor_input(
        parameters=parameters,
        input_artifacts={
            "data": [LocalArtifact("data", "/in/data.csv", "system.Dataset", metadata={"rows": 3})]
        },
        output_parameter_files={"score": "/w/parameters/score"},
        output_artifacts={"model": LocalArtifact("model", "/out/model", "system.Model")},
        output_file="/w/executor_output.json",
    )


def test_strings_are_raw_and_other_values_json_encoded() -> None:
    ei = executor_input(name="ab c", n=3, ratio=0.5, flag=True, items=[1, "x"], cfg={"k": 2})
    args = [
        "{{$.inputs.parameters['name']}}",
        "{{$.inputs.parameters['n']}}",
        "--ratio={{$.inputs.parameters['ratio']}}",
        "{{$.inputs.parameters['flag']}}",
        "{{$.inputs.parameters['items']}}",
        "{{$.inputs.parameters['cfg']}}",
    ]
    assert resolve_args(args, ei, INFO) == [
        "ab c",
        "3",
        "--ratio=0.5",
        "true",
        '[1, "x"]',
        '{"k": 2}',
    ]


def test_artifact_and_output_placeholders() -> None:
    ei = executor_input()
    text = (
        "{{$.inputs.artifacts['data'].path}} {{$.inputs.artifacts['data'].uri}} "
        "{{$.inputs.artifacts['data'].metadata}} {{$.inputs.artifacts['data'].metadata['rows']}} "
        "{{$.outputs.artifacts['model'].path}} {{$.outputs.artifacts['model'].uri}} "
        "{{$.outputs.parameters['score'].output_file}} {{$.outputs.output_file}}"
    )
    assert resolve_string(text, ei, INFO).split(" ") == [
        "/in/data.csv",
        "/in/data.csv",
        '{"rows":',
        "3}",
        "3",
        "/out/model",
        "/out/model",
        "/w/parameters/score",
        "/w/executor_output.json",
    ]


def test_whole_executor_input_and_pipeline_values() -> None:
    ei = executor_input(n=1)
    assert json.loads(resolve_string("{{$}}", ei, INFO)) == ei
    text = "{{$.pipeline_job_name}}/{{$.pipeline_job_uuid}}/{{$.pipeline_task_name}}"
    assert resolve_string(text, ei, INFO) == "pipe/run-1/train"


def test_unknown_and_missing_placeholders_name_the_fix() -> None:
    ei = executor_input()
    with pytest.raises(PlaceholderError, match="input parameter 'lr', which has no value"):
        resolve_string("{{$.inputs.parameters['lr']}}", ei, INFO)
    with pytest.raises(PlaceholderError, match="not one the Headrace launcher supports"):
        resolve_string("{{$.workspace_path}}", ei, INFO)
    with pytest.raises(PlaceholderError, match="output parameter 'nope'"):
        resolve_string("{{$.outputs.parameters['nope'].output_file}}", ei, INFO)


@dsl.container_component
def greet(
    name: str,
    data: Input[Dataset],
    model: Output[Model],
    greeting: dsl.OutputPath(str),  # type: ignore[valid-type]
    suffix: Optional[str] = None,  # noqa: UP045 - kfp needs Optional
) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c"],
        args=[
            dsl.ConcatPlaceholder(["hello ", name, " from ", data.path]),
            greeting,
            model.path,
            dsl.IfPresentPlaceholder(
                input_name="suffix", then=["--suffix", suffix], else_=["--none"]
            ),
        ],
    )


def test_compiled_concat_and_if_present(compiled: Callable[[Any], Any]) -> None:
    container, _ = compiled(greet)
    assert any(arg.startswith('{"Concat"') for arg in container["args"])
    ei = build_executor_input(
        parameters={"name": "ada"},
        input_artifacts={"data": [LocalArtifact("data", "/in/d")]},
        output_parameter_files={"greeting": "/w/p/greeting"},
        output_artifacts={"model": LocalArtifact("model", "/out/m")},
        output_file="/w/eo.json",
    )
    assert resolve_args(container["args"], ei, INFO) == [
        "hello ada from /in/d",
        "/w/p/greeting",
        "/out/m",
        "--none",
    ]
    ei["inputs"]["parameterValues"]["suffix"] = "!"
    assert resolve_args(container["args"], ei, INFO)[-2:] == ["--suffix", "!"]


def test_nested_structures_and_missing_else() -> None:
    ei = executor_input(a="x")
    nested = json.dumps(
        {
            "Concat": [
                "<",
                {
                    "IfPresent": {
                        "InputName": "a",
                        "Then": {"Concat": ["a=", "{{$.inputs.parameters['a']}}"]},
                    }
                },
                ">",
            ]
        }
    )
    absent = json.dumps({"IfPresent": {"InputName": "b", "Then": ["--b"]}})
    assert resolve_args([nested, absent, "end"], ei, INFO) == ["<a=x>", "end"]
