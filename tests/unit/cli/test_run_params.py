"""`-p NAME=VALUE` typed by the pipeline's declared parameters (a real kfp-compiled spec)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from headrace.client import checked_plan
from headrace.run_errors import RunRejectedError
from headrace.run_params import parse_params, split_param
from headrace.run_source import load_file
from headrace_pipelines import Plan, bind_arguments

TYPED = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component(base_image="python:3.11")
    def show(text: str) -> str:
        return text

    @dsl.pipeline(name="typed")
    def typed(n: int, ratio: float, name: str, flag: bool, xs: list, cfg: dict):
        show(text=name)
    """
)


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    path = tmp_path_factory.mktemp("typed") / "typed.py"
    path.write_text(TYPED)
    return checked_plan(load_file(path)[0])


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("n=5", 5),
        ("ratio=0.5", 0.5),
        ("ratio=2", 2.0),
        ("name=5", "5"),
        ("name=a=b", "a=b"),
        ("name=", ""),
        ("flag=true", True),
        ("flag=False", False),
        ("xs=[1, 2]", [1, 2]),
        ('cfg={"a": 1}', {"a": 1}),
    ],
)
def test_values_take_the_declared_type(plan: Plan, item: str, expected: Any) -> None:
    name = item.partition("=")[0]
    value = parse_params([item], plan)[name]
    assert value == expected
    assert type(value) is type(expected)


def test_parsed_values_bind(plan: Plan) -> None:
    items = ["n=5", "ratio=1", "name=x", "flag=true", "xs=[]", "cfg={}"]
    bound = bind_arguments(plan, parse_params(items, plan))
    assert bound == {"n": 5, "ratio": 1.0, "name": "x", "flag": True, "xs": [], "cfg": {}}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("n=five", "parameter 'n': 'five' is not a NUMBER_INTEGER (int) value"),
        ("n=1.5", "parameter 'n': expects NUMBER_INTEGER (int) but got float 1.5"),
        ("flag=1", "parameter 'flag': expects BOOLEAN (bool) but got int 1"),
        ("xs={}", "parameter 'xs': expects LIST (list) but got dict {}"),
        ("cfg=[", "parameter 'cfg': '[' is not a STRUCT (dict) value"),
    ],
)
def test_a_bad_value_names_the_parameter_and_type(plan: Plan, item: str, message: str) -> None:
    with pytest.raises(RunRejectedError) as caught:
        parse_params([item], plan)
    assert message in str(caught.value)


def test_an_unknown_parameter_lists_the_declared_ones(plan: Plan) -> None:
    with pytest.raises(RunRejectedError) as caught:
        parse_params(["count=1"], plan)
    assert "no parameter 'count' (its parameters: cfg, flag, n, name, ratio, xs)" in str(
        caught.value
    )


@pytest.mark.parametrize("item", ["n", "=5", ""])
def test_an_item_without_a_name_is_refused(item: str) -> None:
    with pytest.raises(RunRejectedError, match="-p expects NAME=VALUE"):
        split_param(item)


def test_a_later_item_wins(plan: Plan) -> None:
    assert parse_params(["n=1", "n=2"], plan) == {"n": 2}
