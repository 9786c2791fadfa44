"""Values crossing a type boundary are converted as KFP's driver converts them."""

from typing import Any

import pytest

from headrace_pipelines import SpecError, as_text, convert_input, json_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("kept as is", "kept as is"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (3.0, "3"),  # one number type in KFP: a whole double is written without ".0"
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1e-7, "0.0000001"),  # Go's FormatFloat(v, 'f', -1): never an exponent
        (1e21, "1000000000000000000000"),
        ([1, 2.5, "s", None, True], '[1,2.5,"s",null,true]'),
        ({"b": 1, "a": {"z": [], "y": 2.0}}, '{"a":{"y":2,"z":[]},"b":1}'),  # keys sorted
        ({"x": 1e21, "y": 1e-7}, '{"x":1e+21,"y":1e-7}'),  # JSON doubles as protobuf writes them
        (
            {"html": "<a&b>", "é": "line\nnext\t\x01"},
            '{"html":"\\u003ca\\u0026b\\u003e","é":"line\\nnext\\t\\u0001"}',
        ),
    ],
)
def test_a_value_as_text(value: Any, text: str) -> None:
    assert as_text(value) == text


def test_json_text_writes_scalars_as_json() -> None:
    assert json_text("s") == '"s"'
    assert json_text(None) == "null"
    assert json_text(2**53) == "9007199254740992"


def convert(value: Any, ptype: str) -> Any:
    return convert_input(value, ptype, task="loop[0]/show", field="inputs.parameters['s']")


def test_anything_reaches_a_string_input_as_text() -> None:
    assert convert({"a": [1, 2]}, "STRING") == '{"a":[1,2]}'
    assert convert([{"k": "v"}], "STRING") == '[{"k":"v"}]'
    assert convert(7, "STRING") == "7"
    assert convert(False, "STRING") == "false"
    assert convert(None, "STRING") == ""


def test_numbers_reach_either_number_type() -> None:
    assert convert(3.0, "NUMBER_INTEGER") == 3
    assert type(convert(3.0, "NUMBER_INTEGER")) is int
    assert convert(3.5, "NUMBER_INTEGER") == 3.5  # the driver checks only "is a number"
    assert convert(3, "NUMBER_DOUBLE") == 3.0
    assert type(convert(3, "NUMBER_DOUBLE")) is float


@pytest.mark.parametrize(
    ("value", "ptype", "message"),
    [
        ("3", "NUMBER_INTEGER", r"expects NUMBER_INTEGER \(int\) but got string \"3\""),
        (True, "NUMBER_DOUBLE", r"expects NUMBER_DOUBLE \(float\) but got bool true"),
        ("true", "BOOLEAN", r"expects BOOLEAN \(bool\) but got string"),
        ('{"a": 1}', "STRUCT", r"expects STRUCT \(dict\) but got string"),
        ({"a": 1}, "LIST", r"expects LIST \(list\) but got struct"),
        (None, "NUMBER_INTEGER", r"expects NUMBER_INTEGER \(int\) but got null:"),
    ],
)
def test_other_kinds_must_match(value: Any, ptype: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        convert(value, ptype)
    assert str(info.value).startswith("task 'loop[0]/show', inputs.parameters['s']: ")
    assert "declare the input str" in str(info.value)


def test_structs_serve_final_status_and_task_config_inputs() -> None:
    assert convert({"state": "FAILED"}, "TASK_FINAL_STATUS") == {"state": "FAILED"}
    assert convert({}, "TASK_CONFIG") == {}
