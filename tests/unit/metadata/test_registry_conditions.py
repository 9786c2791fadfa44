"""Promotion conditions (CEL over a model version) and ``models:/`` URIs: pure logic."""

from __future__ import annotations

from typing import Any

import pytest

from headrace_pipelines.model_conditions import (
    RequirementError,
    compile_requirement,
    requirement_holds,
)
from headrace_pipelines.model_refs import (
    ModelRef,
    ModelRefError,
    check_alias,
    check_model_name,
    parse_model_uri,
)


def holds(text: str, **facts: Any) -> bool:
    values: dict[str, Any] = {
        "metrics": {},
        "properties": {},
        "labels": {},
        "tags": [],
        "version": 1,
        "model": "iris",
    }
    values.update(facts)
    return requirement_holds(compile_requirement(text), **values)


def test_a_condition_reads_metrics_properties_labels_tags_and_the_version() -> None:
    assert holds("metrics.accuracy >= 0.95", metrics={"accuracy": 0.97})
    assert not holds("metrics.accuracy >= 0.95", metrics={"accuracy": 0.9})
    assert holds("metrics.accuracy >= 1 || version == 3", metrics={"accuracy": 0.5}, version=3)
    assert holds(
        "properties.layers == 3 && properties.kind == 'tree'",
        properties={"layers": 3, "kind": "tree"},
    )
    assert holds(
        "labels.team == 'vision' && 'candidate' in tags",
        labels={"team": "vision"},
        tags=["candidate"],
    )
    assert holds("model == 'iris' && has(metrics.auc) == false", metrics={"accuracy": 1.0})


def test_an_invalid_condition_names_its_column() -> None:
    with pytest.raises(RequirementError) as caught:
        compile_requirement("metrics.accuracy >=")
    assert caught.value.column == 20
    assert str(caught.value).startswith(
        "condition 'metrics.accuracy >=' is not valid CEL: at column 20: Syntax error"
    )


def test_an_unknown_variable_is_refused_with_what_can_be_read() -> None:
    with pytest.raises(RequirementError) as caught:
        compile_requirement("accuracy > 0.9")
    assert caught.value.column == 1
    assert "undeclared reference to 'accuracy'" in str(caught.value)
    assert "(it can read: metrics, properties, labels, tags, version, model, framework)" in str(
        caught.value
    )


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_condition_is_refused(text: str) -> None:
    with pytest.raises(RequirementError, match="the condition is empty"):
        compile_requirement(text)


def test_a_condition_that_is_not_a_bool_is_refused() -> None:
    with pytest.raises(RequirementError, match="gives a value of type string, not a bool"):
        compile_requirement("model")
    with pytest.raises(RequirementError, match=r"gave 0\.97, not true or false"):
        holds("metrics.accuracy", metrics={"accuracy": 0.97})


def test_a_missing_metric_is_an_evaluation_error_naming_it() -> None:
    with pytest.raises(RequirementError, match='Key not found in map : "accuracy"'):
        holds("metrics.accuracy > 0.5", metrics={"loss": 0.1})


def test_model_uris_by_alias_and_by_version() -> None:
    assert parse_model_uri("models:/iris@production") == ModelRef(name="iris", alias="production")
    assert parse_model_uri("models:/iris-v2.sk_learn/3") == ModelRef(
        name="iris-v2.sk_learn", version=3
    )
    assert str(ModelRef(name="iris", version=3)) == "models:/iris/3"
    assert str(ModelRef(name="iris", alias="staging")) == "models:/iris@staging"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://bucket/model", "is not a model URI"),
        ("models:/", "names no model"),
        ("models:/iris", "names no version"),
        ("models:/iris/0", "names no version"),
        ("models:/iris/latest", "names no version"),
        ("models:/iris@Prod", "alias 'Prod' is not valid"),
        ("models:/ir is/2", "model name 'ir is' is not valid"),
    ],
)
def test_malformed_model_uris_are_refused(uri: str, message: str) -> None:
    with pytest.raises(ModelRefError, match=message):
        parse_model_uri(uri)


def test_names_and_aliases() -> None:
    assert check_model_name("Iris_2.v-1") == "Iris_2.v-1"
    assert check_alias("production") == "production"
    for bad in ("", "-x", "a/b", "a@b", "x" * 129):
        with pytest.raises(ModelRefError, match="model name"):
            check_model_name(bad)
    for bad in ("", "Production", "1st", "prod-", "a_b"):
        with pytest.raises(ModelRefError, match="alias"):
            check_alias(bad)
