"""Output parameters typed per their declared KFP type."""

from __future__ import annotations

from typing import Any

import pytest

from headrace_trainer.errors import OutputError
from headrace_trainer.executor import coerce_parameter, parse_parameter


@pytest.mark.parametrize(
    ("text", "kfp_type", "expected"),
    [
        ("hello \n", "STRING", "hello \n"),
        ("42\n", "NUMBER_INTEGER", 42),
        ("4.0", "NUMBER_INTEGER", 4),
        ("0.25", "NUMBER_DOUBLE", 0.25),
        ("True", "BOOLEAN", True),
        ("false", "BOOLEAN", False),
        ('[1, {"a": 2}]', "LIST", [1, {"a": 2}]),
        ('{"n": 3, "xs": [1]}', "STRUCT", {"n": 3, "xs": [1]}),
        ("7", "Integer", 7),
    ],
)
def test_parse_from_file_text(text: str, kfp_type: str, expected: Any) -> None:
    value = parse_parameter("p", text, kfp_type)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("value", "kfp_type", "expected"),
    [
        (3, "NUMBER_INTEGER", 3),
        (3.0, "NUMBER_INTEGER", 3),
        (3, "NUMBER_DOUBLE", 3.0),
        ("5", "NUMBER_INTEGER", 5),
        ({"a": 1, "b": [2]}, "STRUCT", {"a": 1, "b": [2]}),
        ("[1, 2]", "LIST", [1, 2]),
        ({"a": 1}, "STRING", '{"a": 1}'),
    ],
)
def test_coerce_reported_values(value: Any, kfp_type: str, expected: Any) -> None:
    coerced = coerce_parameter("p", value, kfp_type)
    assert coerced == expected
    assert type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("value", "kfp_type"),
    [("abc", "NUMBER_INTEGER"), (2.5, "NUMBER_INTEGER"), ([1], "STRUCT"), ("yes", "BOOLEAN")],
)
def test_wrong_types_name_the_parameter(value: Any, kfp_type: str) -> None:
    with pytest.raises(OutputError, match=f"output parameter 'p' is declared {kfp_type}"):
        coerce_parameter("p", value, kfp_type)
