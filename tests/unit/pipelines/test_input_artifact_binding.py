"""A pipeline's own input artifacts are bound at submission from a URI: pure checks."""

from collections.abc import Callable
from typing import Any

import pytest
from kfp import dsl

from headrace_contracts import ArtifactRef
from headrace_pipelines import (
    SpecError,
    artifact_path,
    bind_arguments,
    bind_input_artifacts,
    compile_plan,
    model_uris,
)

Compile = Callable[[Any], dict[str, Any]]


@dsl.component
def count(data: dsl.Input[dsl.Dataset], model: dsl.Input[dsl.Model]) -> int:
    return 0


@dsl.pipeline
def scored(data: dsl.Input[dsl.Dataset], model: dsl.Input[dsl.Model], n: int = 1) -> int:
    return count(data=data, model=model).output


def test_kfp_declares_pipeline_input_artifacts_on_the_root(compile_spec: Compile) -> None:
    spec = compile_spec(scored)
    assert spec["root"]["inputDefinitions"]["artifacts"]["data"] == {
        "artifactType": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}
    }
    task_inputs = spec["root"]["dag"]["tasks"]["count"]["inputs"]["artifacts"]
    assert task_inputs["data"] == {"componentInputArtifact": "data"}


def test_uris_are_bound_as_artifact_refs_with_the_inputs_schema(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(scored))
    arguments = {"data": "file:///data/train.csv", "model": "s3://models/m1/model.pt", "n": 2}
    assert bind_arguments(plan, arguments) == {"n": 2}
    assert bind_input_artifacts(plan, arguments) == {
        "data": [
            ArtifactRef(uri="file:///data/train.csv", name="data", schema_title="system.Dataset")
        ],
        "model": [
            ArtifactRef(uri="s3://models/m1/model.pt", name="model", schema_title="system.Model")
        ],
    }
    assert artifact_path("file:///data/train.csv") is not None
    assert str(artifact_path("file:///data/train.csv")) == "/data/train.csv"
    assert artifact_path("s3://models/m1/model.pt") is None


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "models:/churn@",
            "task 'root', input artifact 'data': in 'models:/churn@': ",
        ),
        (
            "models:/churn/0",
            "task 'root', input artifact 'data': 'models:/churn/0' names no version: write "
            "models:/NAME@ALIAS or models:/NAME/VERSION, e.g. models:/iris@production (versions "
            "are numbered from 1)",
        ),
        (
            "data/train.csv",
            "task 'root', input artifact 'data': 'data/train.csv' is not a URI: pass "
            "file:///absolute/path/to/it or s3://bucket/key",
        ),
        (
            "gs://bucket/train.csv",
            "task 'root', input artifact 'data': the scheme of 'gs://bucket/train.csv' is not one "
            "this platform's artifact store serves (it serves file://): copy the artifact there "
            "and pass that URI",
        ),
        (
            "s3://bucket/train.csv",
            "the scheme of 's3://bucket/train.csv' is not one this platform's artifact store "
            "serves (it serves file://)",
        ),
        (
            "file://data/train.csv",
            "task 'root', input artifact 'data': 'file://data/train.csv' is not a local file URI: "
            "write file:///absolute/path (three slashes; 'data' was read as a host name)",
        ),
        (42, "input artifact 'data': expects the artifact's URI as text"),
    ],
)
def test_a_bad_uri_is_refused_naming_the_input_and_the_fix(
    compile_spec: Compile, uri: Any, message: str
) -> None:
    plan = compile_plan(compile_spec(scored))
    with pytest.raises(SpecError) as caught:
        bind_input_artifacts(plan, {"data": uri, "model": "file:///m"}, schemes=("file",))
    assert message in str(caught.value)


def test_an_s3_uri_without_a_key_is_refused(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(scored))
    with pytest.raises(SpecError, match=r"'s3://bucket' names no object: write s3://bucket/key"):
        bind_input_artifacts(plan, {"data": "s3://bucket", "model": "file:///m"})


def test_a_missing_input_artifact_says_how_to_pass_it(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(scored))
    with pytest.raises(SpecError) as caught:
        bind_input_artifacts(plan, {"data": "file:///d"})
    assert str(caught.value) == (
        "task 'root', input artifact 'model': is required: pass its URI "
        "(CLI: -p model=file:///path/to/it or -p model=s3://bucket/key)"
    )


def test_an_unknown_argument_lists_parameters_and_artifacts(compile_spec: Compile) -> None:
    plan = compile_plan(compile_spec(scored))
    listed = r"its parameters: n, data \(artifact\), model \(artifact\)"
    with pytest.raises(SpecError, match=listed):
        bind_arguments(plan, {"dataset": "file:///d"})


def test_model_uris_are_listed_then_bound_to_the_versions_they_resolve_to(
    compile_spec: Compile,
) -> None:
    plan = compile_plan(compile_spec(scored))
    arguments = {"data": "file:///data/train.csv", "model": "models:/churn@production"}
    assert model_uris(plan, arguments) == ["models:/churn@production"]
    # the client's check: a well-formed models:/ URI is left for the scheduler to resolve
    assert bind_input_artifacts(plan, arguments)["model"] == [
        ArtifactRef(uri="models:/churn@production", name="model", schema_title="system.Model")
    ]
    version = ArtifactRef(
        uri="file:///registry/churn/3", digest="sha256:ab", metadata={"model_version": 3}
    )
    bound = bind_input_artifacts(plan, arguments, models={"models:/churn@production": version})
    assert bound["model"] == [
        ArtifactRef(
            uri="file:///registry/churn/3",
            digest="sha256:ab",
            metadata={"model_version": 3},
            name="model",
            schema_title="system.Model",
        )
    ]
    with pytest.raises(SpecError) as caught:
        bind_input_artifacts(plan, arguments, models={})
    assert str(caught.value) == (
        "task 'root', input artifact 'model': 'models:/churn@production' was not resolved "
        "through the model registry: check it with "
        "`headrace model resolve models:/churn@production`"
    )
