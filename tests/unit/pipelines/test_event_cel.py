"""Trigger CEL (filter and {{ }} templates over attributes and data) and trigger definitions."""

from __future__ import annotations

from typing import Any

import pytest

from headrace_pipelines import compile_plan
from headrace_pipelines.event_cel import (
    CelError,
    EvaluationError,
    compile_filter,
    compile_template,
    filter_holds,
    render,
    variables,
)
from headrace_pipelines.triggers import TriggerError, compile_trigger, subject_matches

VALUES = variables(
    {"id": "e-1", "source": "/shop", "type": "t", "extensions": {"tenant": "acme"}},
    {"n": 3, "x": 2.5, "s": "a", "items": [{"sku": "K"}]},
)


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("data.n > 2", True),
        ("data.x > 3.0", False),
        ("attributes.source == '/shop' && data.items[0].sku == 'K'", True),
        ("has(data.missing)", False),
        ("attributes.extensions.tenant == 'acme'", True),
    ],
)
def test_filters(text: str, holds: bool) -> None:
    assert filter_holds(compile_filter(text), VALUES) is holds


def test_a_filter_that_is_not_cel_names_the_expression_and_the_position() -> None:
    with pytest.raises(CelError) as bad:
        compile_filter("data.n >")
    assert str(bad.value).startswith("'data.n >' is not valid CEL: at column 9: Syntax error")


def test_a_filter_of_another_type_is_refused_or_fails_per_event() -> None:
    with pytest.raises(CelError, match="gives a value of type INT, not a bool"):
        compile_filter("1 + 2")
    with pytest.raises(EvaluationError, match="not true or false"):
        filter_holds(compile_filter("data.n"), VALUES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ data.n }}", 3),
        ("{{data.x}}", 2.5),
        ("{{ data.items }}", [{"sku": "K"}]),
        ("order-{{ data.s }}-{{ data.n }}", "order-a-3"),
        ("plain text", "plain text"),
        (7, 7),
        ({"k": 1}, {"k": 1}),
    ],
)
def test_templates(value: Any, expected: Any) -> None:
    assert render(compile_template(value), VALUES) == expected


def test_a_field_the_data_lacks_names_the_expression() -> None:
    with pytest.raises(EvaluationError) as missing:
        render(compile_template("{{ data.order_id }}"), VALUES)
    assert str(missing.value) == '{{ data.order_id }}: Key not found in map : "order_id"'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{{ data.n ", "unclosed '{{'"),
        ("{{ }}", "empty"),
        ("{{ data.n }} }}", "without its '{{'"),
        ("{{ data. }}", "is not valid CEL"),
    ],
)
def test_bad_templates(value: str, message: str) -> None:
    with pytest.raises(CelError, match=message):
        compile_template(value)


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("headrace.ext.>", "headrace.ext.com.shop.order", True),
        ("headrace.ext.*.shop.>", "headrace.ext.com.shop.order", True),
        ("headrace.ext.*", "headrace.ext.com.shop", False),
        ("headrace.ext.orders", "headrace.ext.orders", True),
        ("headrace.ext.>", "headrace.ext", False),
    ],
)
def test_subject_matching(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "p"},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.14.3",
    "root": {
        "inputDefinitions": {
            "parameters": {
                "order": {"parameterType": "STRING"},
                "n": {"parameterType": "NUMBER_INTEGER", "defaultValue": 1},
            }
        },
        "dag": {"tasks": {}},
    },
    "components": {},
    "deploymentSpec": {"executors": {}},
}


def _compile(**changes: Any) -> Any:
    given: dict[str, Any] = {
        "name": "t",
        "namespace": "default",
        "event_type": "com.shop.order",
        "subject": "headrace.ext.>",
        "filter_text": "",
        "parameters": {"order": "{{ data.id }}"},
        **changes,
    }
    return compile_trigger(plan=compile_plan(SPEC), **given)


def test_a_trigger_compiles() -> None:
    compiled = _compile(filter_text="data.total > 1", parameters={"order": "{{ data.id }}", "n": 2})
    assert compiled.filter is not None
    assert compiled.templates["n"].constant


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Bad_Name"}, "trigger name 'Bad_Name' is not valid"),
        ({"event_type": " "}, "--on needs the CloudEvents type"),
        ({"subject": "headrace.run.>"}, "is not a NATS subject under headrace.ext."),
        ({"subject": "headrace.ext.a b"}, "is not a NATS subject under headrace.ext."),
        ({"subject": "headrace.ext.>.x"}, "is not a NATS subject under headrace.ext."),
        ({"filter_text": "data.x >"}, "--filter: 'data.x >' is not valid CEL"),
        ({"parameters": {}}, "needs parameter 'order', which has no default"),
        ({"parameters": {"order": "x", "m": 1}}, "has no parameter 'm'"),
        ({"parameters": {"order": "x", "n": "two"}}, "expects NUMBER_INTEGER (int) but got str"),
    ],
)
def test_bad_triggers(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TriggerError) as bad:
        _compile(**changes)
    assert message in str(bad.value)
