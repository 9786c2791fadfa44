"""CEL conditions and selectors behave as KFP's driver evaluates them (cel-go semantics)."""

from typing import Any

import pytest

from headrace_pipelines import cel


def holds(expression: str, artifacts: dict[str, Any] | None = None, **parameters: Any) -> bool:
    return cel.condition_holds(cel.compile_condition(expression), parameters, artifacts)


def fails(expression: str, **parameters: Any) -> str:
    with pytest.raises(cel.EvaluationError) as info:
        holds(expression, **parameters)
    return str(info.value)


def param(name: str) -> str:
    return f"inputs.parameter_values['{name}']"


def test_integer_division_truncates_as_in_cel() -> None:
    # x = 3: 3 / 2 is 1 in CEL (Python's true division would say 1.5 and skip the branch)
    assert holds(f"int({param('x')}) / 2 == 1", x=3)
    assert holds(f"int({param('x')}) / 2 == 1", x=3.0)
    assert not holds(f"int({param('x')}) / 2 == 1", x=4)
    assert holds("-7 / 2 == -3")  # towards zero, not floor (Python's -7 // 2 is -4)
    assert holds("int(-3.7) == -3 && int(3.7) == 3")


def test_remainder_takes_the_sign_of_the_dividend() -> None:
    assert holds("7 % 3 == 1")
    assert holds("-7 % 3 == -1")  # Python's -7 % 3 is 2
    assert holds(f"int({param('x')}) % 2 == 1", x=5)


def test_string_conversions_follow_cel() -> None:
    assert "cannot convert string to int" in fails(f"int({param('s')}) == 1", s="1.5")
    assert holds(f"int({param('s')}) == 12", s="12")
    assert holds(f"double({param('s')}) == 1.5", s="1.5")
    assert "from 'string' to 'bool'" in fails(f"bool({param('s')})", s="yes")
    assert holds(f"bool({param('s')})", s="true")


def test_numbers_reach_cel_as_doubles_as_from_protobuf() -> None:
    # A number in a protobuf Value is a double: comparisons with ints work (heterogeneous
    # equality), arithmetic with an int does not, which is why kfp writes int(...).
    assert holds(f"{param('x')} == 3", x=3)
    assert holds(f"{param('x')} > 2", x=3)
    assert "No matching overloads found : _+_(double, int64)" in fails(
        f"{param('x')} + 1 == 4", x=3
    )
    assert holds(f"{param('x')} + 1.0 == 4.0", x=3)
    assert holds(f"{param('x')} > 1e308", x=10**400)  # beyond a double: infinite, as in Go


def test_what_kfp_compiles_strings_bools_and_logic() -> None:
    flip = param("pipelinechannel--flip-Output")
    tails = {"pipelinechannel--flip-Output": "tails"}
    assert holds(f"!({flip} == 'heads') && {flip} == 'tails'", **tails)
    assert not holds(f"{flip} == 'heads' || {flip} == 'edge'", **tails)
    assert holds(f"{param('b')} == true", b=True)
    assert holds(f"double(int({param('n')})) < {param('r')}", n=1, r=1.5)


def test_errors_name_cel_reason() -> None:
    assert fails(f"int({param('x')}) / 0 == 1", x=3) == "divide by zero"
    assert "No matching overloads found : -_(string)" in fails(f"-{param('s')} == 1", s="a")
    assert fails(f"{param('gone')} == 1", x=1) == 'Key not found in map : "gone"'
    assert "not true or false" in fails(param("x"), x=1)
    # CEL's logical operators absorb an error when the other side decides
    assert holds("true || 1 / 0 == 1")
    assert holds("1 / 0 == 1 || true")


def test_a_condition_sees_artifact_metadata() -> None:
    model = [{"uri": "s3://b/m", "name": "model", "metadata": {"accuracy": 0.95}}]
    expression = "inputs.artifacts['model'].artifacts[0].metadata['accuracy'] * 100.0 > 90.0"
    assert holds(expression, {"model": model})


def test_syntax_errors_give_the_position() -> None:
    with pytest.raises(cel.CelError) as info:
        cel.compile_condition("int(x) / 2 == 1 &&")
    assert (info.value.line, info.value.column) == (1, 19)
    assert info.value.expression == "int(x) / 2 == 1 &&"
    assert str(info.value).startswith(
        "'int(x) / 2 == 1 &&' is not valid CEL: at column 19: Syntax error: mismatched input "
        "'<EOF>'"
    )
    with pytest.raises(cel.CelError) as info:
        cel.compile_condition("1 == 1\n && 2 = 2")
    assert (info.value.line, info.value.column) == (2, 7)
    assert "at line 2, column 7: Syntax error: token recognition error at: '= '" in str(info.value)


def test_checking_refuses_what_can_never_work() -> None:
    with pytest.raises(cel.CelError, match=r"column 1: undeclared reference to 'foo'"):
        cel.compile_condition("foo == 1")
    with pytest.raises(cel.CelError, match=r"column 1: found no matching overload for '-_'"):
        cel.compile_condition("-'a' == 1")
    with pytest.raises(cel.CelError, match=r"gives a value of type INT, not a bool"):
        cel.compile_condition(f"int({param('x')})")
    with pytest.raises(cel.CelError, match="empty"):
        cel.compile_condition("  ")


def test_a_condition_knows_the_parameters_it_reads() -> None:
    condition = cel.compile_condition(f'{param("a")} == inputs.parameter_values["b"] && true')
    assert condition.reads == frozenset({"a", "b"})


def select(expression: str, value: Any) -> Any:
    return cel.select(cel.compile_selector(expression), value)


def test_parse_json_selectors_read_loop_items() -> None:
    item = {"a": 1, "b": [1, 2.5], "c": {"d": "x"}}
    assert select('parseJson(string_value)["a"]', item) == 1
    assert type(select('parseJson(string_value)["a"]', item)) is int  # 1.0 in CEL, 1 in JSON
    assert select('parseJson(string_value)["b"]', item) == [1, 2.5]
    assert select('parseJson(string_value)["c"]["d"]', item) == "x"
    assert select('parseJson(string_value)["a"]', '{"a": 7}') == 7  # an item already as text
    assert select("struct_value.c", item) == {"d": "x"}
    assert select("string_value", [1, {"k": 2.0}]) == '[1,{"k":2}]'
    assert select("number_value", 3) == 3


def test_selector_errors() -> None:
    with pytest.raises(cel.EvaluationError, match="is not JSON"):
        select("parseJson(string_value)", "not json")
    with pytest.raises(cel.EvaluationError, match='No value with name "struct_value"'):
        select("struct_value.a", "text")
    with pytest.raises(cel.EvaluationError, match='Key not found in map : "z"'):
        select('parseJson(string_value)["z"]', {"a": 1})
    with pytest.raises(cel.EvaluationError, match="not a parameter value"):
        select('b"bytes"', 1)
