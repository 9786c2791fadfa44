"""The ExecutorInput the executor builds, read back by kfp's own executor classes.

(No ``from __future__ import annotations``: kfp's Executor reads the annotations as types.)
"""

from kfp.dsl import Dataset, Input, Model, Output
from kfp.dsl.executor import Executor

from headrace_artifacts import validate_key
from headrace_trainer.executor import LocalArtifact, build_executor_input
from headrace_trainer.executor.logs import log_key, safe_segment, step_key


def component(
    parts: Input[list[Dataset]], data: Input[Dataset], model: Output[Model], n: int
) -> None:  # pragma: no cover - inspected, not run
    pass


def test_kfp_reads_paths_types_and_fan_in_lists() -> None:
    ei = build_executor_input(
        parameters={"n": 3},
        input_artifacts={
            "parts": [LocalArtifact("p0", "/a/0", "system.Dataset"), LocalArtifact("p1", "/a/1")],
            "data": [LocalArtifact("data", "/in/d.csv", "system.Dataset", metadata={"k": 1})],
        },
        output_parameter_files={"Output": "/w/parameters/Output"},
        output_artifacts={"model": LocalArtifact("model", "/tmp/x/out/model", "system.Model")},
        output_file="/w/executor_output.json",
    )
    executor = Executor(executor_input=ei, function_to_execute=component)
    parts = executor.input_artifacts["parts"]
    assert isinstance(parts, list)
    assert [artifact.path for artifact in parts] == ["/a/0", "/a/1"]
    data = executor.get_input_artifact("data")
    assert data is not None
    assert data.path == "/in/d.csv"
    assert data.metadata == {"k": 1}
    assert executor.get_output_artifact_path("model") == "/tmp/x/out/model"
    assert executor.get_input_parameter_value("n") == 3
    assert executor.get_output_parameter_path("Output") == "/w/parameters/Output"


def test_step_keys_are_valid_artifact_keys_and_distinct() -> None:
    ids = [
        "root/for-loop-2[3]/train",
        "root/for-loop-2_3_/train",
        "a/../b",
        ".headrace-tmp-x",
        "x y",
    ]
    keys = [log_key("run/1", step_id, 2) for step_id in ids]
    for key in keys:
        assert validate_key(key) == key
        assert key.endswith("/attempt-2/log.txt")
    assert len(set(keys)) == len(keys)
    assert step_key("r", "root/train") == "runs/r/root/train"
    assert safe_segment("plain-name_1.2") == "plain-name_1.2"
