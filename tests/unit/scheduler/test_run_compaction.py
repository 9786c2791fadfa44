"""Compacting a finished run keeps exactly what GetRun shows, and only that."""

from collections.abc import Callable
from typing import Any

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Output
from run_driver import Driver

from headrace_runtime import SettingsError, settings_from_environment
from headrace_scheduler.compaction import CompactionSettings, compact, compacted_rows
from headrace_scheduler.state import Node, RunState
from headrace_scheduler.views import run_view

Compile = Callable[[Any], dict[str, Any]]


@dsl.component
def square(x: int, out: Output[Dataset]) -> int:
    return x * x


@dsl.component
def gather(squares: list[int], files: Input[list[Dataset]]) -> int:
    return sum(squares)


@dsl.component
def broken(x: int) -> None:
    raise SystemExit(1)


@dsl.pipeline
def fan(xs: list = list(range(40))) -> int:  # noqa: B006
    with dsl.ParallelFor(xs, parallelism=8) as item:
        sq = square(x=item)
    return gather(
        squares=dsl.Collected(sq.outputs["Output"]), files=dsl.Collected(sq.outputs["out"])
    ).output


@dsl.pipeline
def failing(x: int = 3) -> None:
    made = square(x=x)
    broken(x=made.outputs["Output"])


def stored_size(document: str, nodes: list[tuple[str, int, str]]) -> int:
    return len(document) + sum(len(text) for _, _, text in nodes)


def behave(node: Any) -> tuple[Any, ...]:
    if node.task == "square":
        out = [{"uri": f"file:///store/{node.id}/out", "name": "out", "metadata": {"n": 1}}]
        return ("ok", {"Output": node.parameters["x"] ** 2}, {"out": out})
    if node.task == "gather":
        return ("ok", {"Output": sum(node.parameters["squares"])}, {})
    return ("fail", "exited with code 1")


@pytest.mark.parametrize(("pipeline", "state"), [(fan, "SUCCEEDED"), (failing, "FAILED")])
def test_a_compacted_run_shows_the_same_view_in_less_space(
    compile_spec: Compile, pipeline: Any, state: str
) -> None:
    driver = Driver(compile_spec(pipeline)).start(behave)
    run = driver.run
    run.state, run.finished_at = driver.finished()[0].state, "2026-01-01T00:01:00+00:00"
    assert run.state == state

    small = compact(run)
    assert run_view(small) == run_view(run)
    document, nodes = compacted_rows(run)
    stored = RunState.model_validate_json(document)
    stored.attach([(seq, Node.model_validate_json(text)) for _, seq, text in nodes])
    assert run_view(stored) == run_view(run)
    assert run_view(small).steps  # the steps, their outputs and reasons are all there
    assert stored_size(document, nodes) < len(run.model_dump_json())
    assert compact(small) == small
    assert "" not in small.nodes
    assert all(not node.parameters and not node.artifacts for node in small.nodes.values())
    assert all(not node.children and node.items is None for node in small.nodes.values())


def test_a_loop_run_shrinks_to_about_half(compile_spec: Compile) -> None:
    driver = Driver(compile_spec(fan)).start(behave)
    before = len(driver.run.model_dump_json())
    after = stored_size(*compacted_rows(driver.run))
    assert after < 0.6 * before, (before, after)


def test_compaction_settings_default_and_refuse_wrong_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = settings_from_environment(CompactionSettings)
    assert (config.after_seconds, config.interval_seconds, config.batch) == (604800, 3600, 50)
    monkeypatch.setenv("HEADRACE_SCHEDULER_COMPACT_BATCH", "0")
    with pytest.raises(SettingsError, match="HEADRACE_SCHEDULER_COMPACT_BATCH='0'"):
        settings_from_environment(CompactionSettings)
    monkeypatch.setenv("HEADRACE_SCHEDULER_COMPACT_BATCH", "10")
    monkeypatch.setenv("HEADRACE_SCHEDULER_COMPACT_AFTER_SECONDS", "soon")
    with pytest.raises(SettingsError, match="HEADRACE_SCHEDULER_COMPACT_AFTER_SECONDS='soon'"):
        settings_from_environment(CompactionSettings)
