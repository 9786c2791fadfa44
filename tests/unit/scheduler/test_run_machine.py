"""The run state machine, driven without a broker: every KFP DAG feature and failure path."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Output, PipelineTaskFinalStatus
from run_driver import Driver

from headrace_scheduler.effects import Finished, Launch, Skipped, Stop

Compile = Callable[[Any], dict[str, Any]]


@dsl.component
def make_list(n: int) -> list:
    return [n]


@dsl.component
def take_list(xs: list) -> int:
    return len(xs)


@dsl.component
def flip() -> str:
    return "heads"


@dsl.component
def show(s: str) -> str:
    return s


@dsl.component
def num(x: int) -> int:
    return x


@dsl.component
def total(xs: list[int]) -> int:
    return sum(xs)


@dsl.component
def make_data(out: Output[Dataset]) -> None:
    pass


@dsl.component
def count(ds: Input[list[Dataset]]) -> int:
    return len(ds)


@dsl.component
def fail() -> None:
    raise SystemExit(1)


@dsl.component
def report(status: PipelineTaskFinalStatus) -> str:
    return status.state


def ok(parameters: dict[str, Any] | None = None, **artifacts: Any) -> tuple[Any, ...]:
    return ("ok", parameters or {}, artifacts)


def artifact(node: Any, name: str) -> list[dict[str, Any]]:
    return [{"uri": f"file:///store/{node.id}/{name}", "name": name}]


def echo(node: Any) -> tuple[Any, ...]:
    """Succeed like the component would: num -> x, show -> s, flip -> heads, ..."""
    task = node.task.rsplit("-", 1)[0] if node.task[-1].isdigit() else node.task
    if task == "flip":
        return ok({"Output": "heads"})
    if task == "num":
        return ok({"Output": node.parameters["x"]})
    if task == "show":
        return ok({"Output": node.parameters["s"]})
    if task == "total":
        return ok({"Output": sum(node.parameters["xs"])})
    if task == "make-list":
        return ok({"Output": [node.parameters["n"], {"k": node.parameters["n"]}]})
    if task == "take-list":
        return ok({"Output": len(node.parameters["xs"])})
    if task == "make-data":
        return ok(out=artifact(node, "out"))
    if task == "count":
        return ok({"Output": len(node.artifacts["ds"])})
    if task == "fail":
        return ("fail", "exited with code 1")
    if task == "report":
        return ok({"Output": node.parameters["status"]["state"]})
    raise AssertionError(f"no behaviour for {node.task}")


def test_values_keep_exact_types_between_steps(compile_spec: Compile) -> None:
    @dsl.pipeline
    def types(n: int = 4) -> int:
        made = make_list(n=n)
        return take_list(xs=made.output).output

    driver = Driver(compile_spec(types)).start(echo)
    consumer = driver.node("take-list")
    assert consumer.parameters == {"xs": [4, {"k": 4}]}
    assert type(consumer.parameters["xs"][0]) is int
    assert type(consumer.parameters["xs"][1]["k"]) is int
    assert driver.finished() == [Finished("SUCCEEDED")]
    assert driver.run.out_parameters == {"Output": 2}


def test_if_elif_else_runs_one_branch_and_oneof_picks_its_output(compile_spec: Compile) -> None:
    @dsl.pipeline
    def branches() -> str:
        f = flip()
        with dsl.If(f.output == "heads"):
            a = show(s="h")
        with dsl.Elif(f.output == "tails"):
            b = show(s="t")
        with dsl.Else():
            c = show(s="e")
        return show(s=dsl.OneOf(a.output, b.output, c.output)).output

    def tails(node: Any) -> tuple[Any, ...]:
        return ok({"Output": "tails"}) if node.task == "flip" else echo(node)

    driver = Driver(compile_spec(branches)).start(tails)
    ran = sorted(n for n, _, _ in driver.launched)
    assert ran == ["condition-branches-1/condition-3/show-2", "flip", "show-4"]
    assert driver.node("condition-branches-1/condition-2").state == "SKIPPED"
    assert not driver.node("condition-branches-1/condition-2").failure
    assert driver.node("show-4").parameters == {"s": "t"}
    assert driver.run.out_parameters == {"Output": "t"}
    assert driver.finished() == [Finished("SUCCEEDED")]


def test_parallel_for_respects_parallelism_and_collects_in_order(compile_spec: Compile) -> None:
    @dsl.pipeline
    def fan(xs: list = [3, 1, 2, 5]) -> int:  # noqa: B006
        with dsl.ParallelFor(xs, parallelism=2) as item:
            n = num(x=item)
            m = make_data()
        count(ds=dsl.Collected(m.outputs["out"]))
        return total(xs=dsl.Collected(n.output)).output

    driver = Driver(compile_spec(fan)).start(lambda node: ("hold",))
    loop_steps = [n for n in driver.held if n.startswith("for-loop")]
    assert len(loop_steps) == 4  # two iterations of two steps each
    assert {n.split("/")[0] for n in loop_steps} == {"for-loop-1[0]", "for-loop-1[1]"}
    while driver.held:
        step = driver.held.pop(0)
        driver.feed(
            driver.machine.step_succeeded(step, 1, *echo(driver.node(step))[1:]),
            lambda node: ("hold",),
        )
    assert driver.node("total").state == "SUCCEEDED"
    assert driver.node("total").parameters == {"xs": [3, 1, 2, 5]}
    assert [a["uri"] for a in driver.node("count").artifacts["ds"]] == [
        f"file:///store/for-loop-1[{i}]/make-data/out" for i in range(4)
    ]
    assert driver.run.out_parameters == {"Output": 11}


def test_nested_loops_and_loop_item_fields(compile_spec: Compile) -> None:
    @dsl.pipeline
    def nested(xs: list = [1, 2]) -> None:  # noqa: B006
        with dsl.ParallelFor(xs) as outer, dsl.ParallelFor([{"a": 10}, {"a": 20}]) as inner:
            num(x=inner.a)
            total(xs=[outer, outer])

    driver = Driver(compile_spec(nested)).start(echo)
    values = sorted(p["x"] for n, _, p in driver.launched if "num" in n)
    assert values == [10, 10, 20, 20]
    assert sorted(p["xs"][0] for n, _, p in driver.launched if "total" in n) == [1, 1, 2, 2]
    assert driver.finished() == [Finished("SUCCEEDED")]


def test_nested_pipeline_outputs_flow_out(compile_spec: Compile) -> None:
    @dsl.pipeline
    def inner(x: int) -> int:
        return num(x=x).output

    @dsl.pipeline
    def outer() -> int:
        return num(x=inner(x=7).output).output

    driver = Driver(compile_spec(outer)).start(echo)
    assert driver.node("inner/num").parameters == {"x": 7}
    assert driver.node("num").parameters == {"x": 7}
    assert driver.run.out_parameters == {"Output": 7}


def test_failure_fails_fast_runs_exit_handler_and_names_the_step(compile_spec: Compile) -> None:
    @dsl.pipeline
    def guarded() -> None:
        final = report()
        with dsl.ExitHandler(final):
            bad = fail().set_caching_options(False)
            num(x=1).after(bad)
            show(s="independent")

    order: list[str] = []

    def behave(node: Any) -> tuple[Any, ...]:
        order.append(node.task)
        return echo(node)

    driver = Driver(compile_spec(guarded)).start(behave)
    assert driver.node("exit-handler-1/num").state == "SKIPPED"
    assert driver.node("exit-handler-1/num").upstream_failed
    final = driver.node("report")
    assert final.state == "SUCCEEDED"
    assert final.parameters["status"]["state"] == "FAILED"
    assert final.parameters["status"]["pipelineTaskName"] == "exit-handler-1"
    assert driver.finished() == [Finished("FAILED")]
    assert driver.run.error == "step 'exit-handler-1/fail' failed: exited with code 1"
    assert driver.run.failed_steps == ["exit-handler-1/fail"]
    assert order[-1] == "report"


def test_running_branch_finishes_but_no_new_step_starts_after_a_failure(
    compile_spec: Compile,
) -> None:
    @dsl.pipeline
    def branches() -> None:
        fail()
        slow = num(x=1)
        num(x=2).after(slow)

    driver = Driver(compile_spec(branches)).start(
        lambda node: echo(node) if node.task == "fail" else ("hold",)
    )
    assert driver.held == ["num"]
    driver.feed(driver.machine.step_succeeded("num", 1, {"Output": 1}, {}), echo)
    assert driver.node("num").state == "SUCCEEDED"
    assert driver.node("num-2").state == "SKIPPED"
    assert any(isinstance(e, Skipped) and e.node_id == "num-2" for e in driver.effects)
    assert driver.finished() == [Finished("FAILED")]


def test_ignore_upstream_failure_runs_anyway(compile_spec: Compile) -> None:
    @dsl.pipeline
    def tolerant() -> None:
        bad = fail()
        num(x=3).after(bad).ignore_upstream_failure()

    driver = Driver(compile_spec(tolerant)).start(echo)
    assert driver.node("num").state == "SUCCEEDED"
    assert driver.finished() == [Finished("FAILED")]


def test_retry_policy_backs_off_then_gives_up(compile_spec: Compile) -> None:
    @dsl.pipeline
    def flaky() -> None:
        fail().set_retry(
            num_retries=2, backoff_duration="1s", backoff_factor=3, backoff_max_duration="2s"
        )

    driver = Driver(compile_spec(flaky)).start(echo)
    attempts = [(n, a) for n, a, _ in driver.launched]
    assert attempts == [("fail", 1), ("fail", 2), ("fail", 3)]
    node = driver.node("fail")
    assert node.state == "FAILED"
    assert node.attempt == 3
    # 1 s after the first failure, then min(1 * 3, 2) = 2 s after the second
    assert datetime.fromisoformat(node.not_before) == driver.now.replace(second=2)
    assert driver.finished() == [Finished("FAILED")]


def test_retry_succeeds_on_a_later_attempt(compile_spec: Compile) -> None:
    @dsl.pipeline
    def flaky() -> int:
        return num(x=5).set_retry(num_retries=1).output

    tries: list[int] = []

    def second_time(node: Any) -> tuple[Any, ...]:
        tries.append(node.attempt)
        return ("fail", "transient") if node.attempt == 1 else echo(node)

    driver = Driver(compile_spec(flaky)).start(second_time)
    assert tries == [1, 2]
    assert driver.finished() == [Finished("SUCCEEDED")]
    # a late event of the failed first attempt changes nothing
    assert driver.machine.step_succeeded("num", 1, {"Output": 99}, {}) == []
    assert driver.run.out_parameters == {"Output": 5}


def test_cancel_stops_running_cancels_pending_and_still_runs_exit_handler(
    compile_spec: Compile,
) -> None:
    @dsl.pipeline
    def long() -> None:
        final = report()
        with dsl.ExitHandler(final):
            first = num(x=1)
            num(x=2).after(first)

    driver = Driver(compile_spec(long)).start(lambda node: ("hold",))
    assert driver.held == ["exit-handler-1/num"]
    effects = driver.machine.cancel("user asked")
    assert Stop("exit-handler-1/num", "user asked") in effects
    assert driver.node("exit-handler-1/num-2").state == "CANCELLED"
    assert driver.run.state == "CANCELLING"
    driver.feed(driver.machine.step_cancelled("exit-handler-1/num", 1, "terminated"), echo)
    final = driver.node("report")
    assert final.state == "SUCCEEDED"
    assert final.parameters["status"]["state"] == "CANCELLED"
    assert driver.finished() == [Finished("CANCELLED")]


def test_cancel_before_start_and_a_late_start_is_stopped_again(compile_spec: Compile) -> None:
    @dsl.pipeline
    def one() -> None:
        num(x=1)

    driver = Driver(compile_spec(one))
    launches = driver.machine.start()
    assert launches == [Launch("num")]
    effects = driver.machine.cancel("stop")
    assert Stop("num", "stop") in effects
    assert Finished("CANCELLED") in effects
    assert driver.run.state == "CANCELLED"


def test_cache_hit_completes_the_step_without_running_it(compile_spec: Compile) -> None:
    @dsl.pipeline
    def cached() -> int:
        return num(x=num(x=1).output).output

    driver = Driver(compile_spec(cached))
    assert driver.machine.start() == [Launch("num")]
    effects = driver.machine.step_cached("num", {"Output": 1}, {}, source="old-run/num")
    assert effects == [Launch("num-2")]
    assert driver.node("num").state == "CACHED"
    assert driver.node("num").cached
    driver.feed(effects, echo)
    assert driver.finished() == [Finished("SUCCEEDED")]


def test_importer_output_feeds_the_next_step(compile_spec: Compile) -> None:
    @dsl.pipeline
    def imported() -> int:
        data = dsl.importer(
            artifact_uri="file:///data/x.csv", artifact_class=Dataset, metadata={"rows": 3}
        )
        return num(x=1).after(data).output

    driver = Driver(compile_spec(imported)).start(echo)
    node = driver.node("importer")
    assert node.state == "SUCCEEDED"
    assert node.out_artifacts["artifact"][0]["uri"] == "file:///data/x.csv"
    assert node.out_artifacts["artifact"][0]["schema_title"] == "system.Dataset"
    assert node.out_artifacts["artifact"][0]["metadata"] == {"rows": 3}
    assert driver.finished() == [Finished("SUCCEEDED")]


def test_an_outcome_handled_before_its_started_event_still_names_the_worker(
    compile_spec: Compile,
) -> None:
    # Two scheduler replicas share the step events, so a step's StepSucceeded (or StepFailed)
    # can be handled before its StepStarted; once the run has finished, that StepStarted is
    # ignored, so the outcome carries the worker too.
    @dsl.pipeline
    def two() -> None:
        num(x=1).set_retry(num_retries=1)
        num(x=2)

    driver = Driver(compile_spec(two)).start(lambda node: ("hold",))
    first, second = sorted(driver.held)
    driver.machine.step_failed(first, 1, "transient", worker="trainer-1")
    assert driver.node(first).worker == "trainer-1"
    driver.machine.step_succeeded(first, 2, {"Output": 1}, {}, worker="trainer-0")
    driver.machine.step_succeeded(second, 1, {"Output": 2}, {}, worker="trainer-1")
    assert driver.run.state == "SUCCEEDED"
    assert (driver.node(first).worker, driver.node(second).worker) == ("trainer-0", "trainer-1")
