"""DAG features on real steps: after(), sub-pipelines, If/Elif/Else, OneOf, loops, fan-in."""

from pathlib import Path

from kfp import dsl
from pipeline_harness import Platform, states, step


@dsl.component
def echo(s: str) -> str:
    return s


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def total(xs: list[int]) -> int:
    return sum(xs)


@dsl.component
def stamp(folder: str, name: str) -> str:
    import os
    import time

    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(str(time.time()))
    time.sleep(0.2)
    with open(path, "a") as f:
        f.write(" " + str(time.time()))
    return name


@dsl.pipeline
def inner(word: str) -> str:
    return echo(s=word).output


@dsl.pipeline
def ordered(folder: str) -> str:
    first = stamp(folder=folder, name="first")
    second = stamp(folder=folder, name="second").after(first)
    nested = inner(word="deep").after(second)
    return echo(s=nested.output).output


async def test_after_orders_steps_and_sub_pipelines_pass_outputs(
    platform: Platform, tmp_path: Path
) -> None:
    run = await platform.run(ordered, {"folder": str(tmp_path)})
    assert run.state == "SUCCEEDED", run.error
    first_end = float((tmp_path / "first").read_text().split()[1])
    second_start = float((tmp_path / "second").read_text().split()[0])
    assert second_start >= first_end
    assert run.output_parameters["Output"] == "deep"
    assert states(run)["inner/echo"] == "SUCCEEDED"
    assert states(run)["inner"] == "SUCCEEDED"


@dsl.pipeline
def branching(word: str) -> str:
    picked = echo(s=word)
    with dsl.If(picked.output == "heads"):
        a = echo(s="went heads")
    with dsl.Elif(picked.output == "tails"):
        b = echo(s="went tails")
    with dsl.Else():
        c = echo(s="went sideways")
    return echo(s=dsl.OneOf(a.output, b.output, c.output)).output


async def test_if_elif_else_and_oneof(platform: Platform) -> None:
    for word, expected in (
        ("heads", "went heads"),
        ("tails", "went tails"),
        ("x", "went sideways"),
    ):
        run = await platform.run(branching, {"word": word})
        assert run.state == "SUCCEEDED", run.error
        assert run.output_parameters["Output"] == expected
        ran = [s.step_id for s in run.steps if s.kind == "container" and s.state != "SKIPPED"]
        # the word, one branch, the OneOf consumer (a cache hit when it echoes the same text)
        assert len(ran) == 3, ran
        assert all(s.state in ("SUCCEEDED", "CACHED") for s in run.steps if s.step_id in ran)
        skipped = [s for s in run.steps if s.state == "SKIPPED"]
        assert len(skipped) == 2
        assert all(s.reason == "condition is false" for s in skipped)


@dsl.pipeline
def fan(xs: list) -> int:
    with dsl.ParallelFor(xs, parallelism=2) as x:
        sq = square(x=x)
        with dsl.ParallelFor([{"k": 10}, {"k": 20}]) as item:
            square(x=item.k)
    return total(xs=dsl.Collected(sq.output)).output


async def test_parallel_for_nested_with_limit_and_collected(platform: Platform) -> None:
    run = await platform.run(fan, {"xs": [1, 2, 3, 4]})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == 30
    outer = [s for s in run.steps if s.kind == "iteration" and s.parent == "for-loop-1"]
    assert len(outer) == 4
    inner_values = sorted(
        s.output_parameters["Output"]
        for s in run.steps
        if s.kind == "container" and "for-loop-3" in s.step_id
    )
    assert inner_values == [100] * 4 + [400] * 4
    # parallelism=2: never more than two outer iterations overlap
    spans = sorted((s.started_at, s.finished_at) for s in outer)
    for i, (start, _) in enumerate(spans):
        overlapping = [1 for s2, e2 in spans[:i] if e2 > start]
        assert len(overlapping) <= 1, spans


async def test_condition_on_a_pipeline_parameter(platform: Platform) -> None:
    @dsl.pipeline
    def gated(n: int) -> None:
        with dsl.If(n > 5):
            square(x=n)

    small = await platform.run(gated, {"n": 2})
    big = await platform.run(gated, {"n": 9})
    assert small.state == big.state == "SUCCEEDED"
    assert states(small)["condition-1"] == "SKIPPED"
    assert step(big, "condition-1/square") is not None
    assert step(big, "condition-1/square").output_parameters["Output"] == 81  # type: ignore[union-attr]
