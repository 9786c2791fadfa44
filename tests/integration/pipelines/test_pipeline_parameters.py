"""Parameters of every KFP type flow between real steps with their exact types."""

from collections.abc import Awaitable, Callable
from typing import Any

from kfp import dsl
from pipeline_harness import Platform, step

StartPlatform = Callable[..., Awaitable[Platform]]


@dsl.component
def produce(n: int, ratio: float, name: str, flag: bool, items: list, conf: dict) -> dict:
    return {
        "n": n,
        "ratio": ratio,
        "name": name,
        "flag": flag,
        "items": items,
        "conf": conf,
        "types": [type(v).__name__ for v in (n, ratio, name, flag, items, conf)],
        "inner": [type(v).__name__ for v in items] + [type(v).__name__ for v in conf.values()],
    }


@dsl.component
def pick(record: dict, key: str) -> list:
    return record[key]


@dsl.component
def add(a: int, b: int = 10) -> int:
    return a + b


@dsl.component
def as_float(x: float) -> float:
    return x * 2


@dsl.pipeline
def typed(
    n: int = 3,
    ratio: float = 0.5,
    name: str = "x",
    flag: bool = True,
    items: list = [1, 2.5, "s", [3]],  # noqa: B006
    conf: dict = {"depth": 4, "nested": {"k": 1}},  # noqa: B006
) -> dict:
    made = produce(n=n, ratio=ratio, name=name, flag=flag, items=items, conf=conf)
    pick(record=made.output, key="inner")
    add(a=n)
    as_float(x=ratio)
    return made.output


async def test_every_parameter_type_keeps_its_exact_type(platform: Platform) -> None:
    run = await platform.run(
        typed,
        {"n": 7, "items": [1, 2, {"a": 3, "b": [4, 5.0]}], "conf": {"depth": 2, "lr": 0.1}},
    )
    assert run.state == "SUCCEEDED", run.error
    record = run.output_parameters["Output"]
    assert record["n"] == 7
    assert record["types"] == ["int", "float", "str", "bool", "list", "dict"]
    assert record["items"] == [1, 2, {"a": 3, "b": [4, 5.0]}]
    assert type(record["items"][2]["a"]) is int
    assert type(record["items"][2]["b"][1]) is float
    assert record["inner"] == ["int", "int", "dict", "int", "float"]
    assert record["flag"] is True
    picked = step(run, "pick")
    assert picked is not None
    assert picked.output_parameters["Output"] == ["int", "int", "dict", "int", "float"]
    added = step(run, "add")
    assert added is not None
    assert added.output_parameters["Output"] == 17  # the component default b=10 applies
    doubled = step(run, "as-float")
    assert doubled is not None
    assert doubled.output_parameters["Output"] == 1.0
    assert type(doubled.output_parameters["Output"]) is float


async def test_defaults_are_used_and_list_defaults_stay_ints(platform: Platform) -> None:
    run = await platform.run(typed)
    assert run.state == "SUCCEEDED", run.error
    record: dict[str, Any] = run.output_parameters["Output"]
    assert record["n"] == 3
    assert record["items"] == [1, 2.5, "s", [3]]
    assert record["inner"] == ["int", "float", "str", "list", "int", "dict"]
    assert run.arguments["conf"] == {"depth": 4, "nested": {"k": 1}}
