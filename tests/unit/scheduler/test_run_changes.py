"""What one event changes in a run stays the same size however many iterations a loop has.

The store saves only the nodes an event changed (the driver checks every call records all
it changed), so these sizes are what handling one event writes.
"""

from collections.abc import Callable
from typing import Any

import pytest
from kfp import dsl
from run_driver import Driver

Compile = Callable[[Any], dict[str, Any]]


@dsl.component
def add(x: int) -> int:
    return x + 1


@dsl.component
def total(xs: list[int]) -> int:
    return sum(xs)


def fan(n: int, parallelism: int = 0) -> Any:
    @dsl.pipeline(name=f"fan-{n}")
    def pipeline() -> int:
        with dsl.ParallelFor(list(range(n)), parallelism=parallelism) as item:
            step = add(x=item)
        return total(xs=dsl.Collected(step.output)).output

    return pipeline


def changes_per_event(spec: dict[str, Any]) -> tuple[Driver, list[int]]:
    """Run the fan, every step held then finished one by one; the number of nodes each
    step_started or step_succeeded changed."""
    driver = Driver(spec).start(lambda node: ("hold",))
    sizes: list[int] = []
    while driver.held:
        step = driver.held.pop(0)
        node = driver.node(step)
        result = {"Output": node.parameters["x"] + 1 if "x" in node.parameters else 0}
        if node.task == "total":
            result = {"Output": sum(node.parameters["xs"])}
        first = len(driver.machine.changes)
        driver.feed(driver.machine.step_succeeded(step, 1, result, {}), lambda n: ("hold",))
        sizes += [len(c) for c in driver.machine.changes[first:]]
    return driver, sizes


@pytest.mark.parametrize("parallelism", [0, 4])
def test_one_event_changes_as_many_nodes_for_10_and_300_iterations(
    compile_spec: Compile, parallelism: int
) -> None:
    small, small_sizes = changes_per_event(compile_spec(fan(10, parallelism)))
    large, large_sizes = changes_per_event(compile_spec(fan(300, parallelism)))
    for driver, n in ((small, 10), (large, 300)):
        assert driver.run.state == "SUCCEEDED"
        assert driver.run.out_parameters == {"Output": sum(range(1, n + 1))}
    assert max(large_sizes) == max(small_sizes)
    assert max(large_sizes) <= 8, large_sizes


def test_a_loop_keeps_count_of_its_running_and_ended_iterations(compile_spec: Compile) -> None:
    driver = Driver(compile_spec(fan(5, 2))).start(lambda node: ("hold",))
    loop = driver.node("for-loop-2")
    assert (loop.running, loop.ended, loop.next_start) == (2, 0, 2)
    driver.feed(
        driver.machine.step_succeeded(driver.held.pop(0), 1, {"Output": 1}, {}),
        lambda node: ("hold",),
    )
    assert (loop.running, loop.ended, loop.next_start) == (2, 1, 3)


def test_a_loop_saved_without_counts_is_counted_once(compile_spec: Compile) -> None:
    """A run saved before loops kept counts carries on from what its iterations say."""
    driver = Driver(compile_spec(fan(5, 2))).start(lambda node: ("hold",))
    loop = driver.node("for-loop-2")
    loop.running = loop.ended = loop.next_start = None
    driver.feed(
        driver.machine.step_succeeded(driver.held.pop(0), 1, {"Output": 1}, {}),
        lambda node: ("hold",),
    )
    assert (loop.running, loop.ended, loop.next_start) == (2, 1, 3)
    assert sorted(n.split("/")[0] for n in driver.held) == ["for-loop-2[1]", "for-loop-2[2]"]
