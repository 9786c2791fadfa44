"""Failing a run the scheduler cannot carry on: pure, without the plan or the machine."""

from headrace_scheduler.abort import abort_run
from headrace_scheduler.state import Node, RunState

NOW = "2026-01-01T00:00:00+00:00"


def run_with(*nodes: Node) -> RunState:
    run = RunState(run_id="r1", state="RUNNING")
    for node in nodes:
        run.nodes[node.id] = node
    return run


def test_the_named_step_fails_others_are_stopped_or_cancelled_and_the_run_fails() -> None:
    run = run_with(
        Node(id="", task="p", kind="dag", scope="", component="root", state="RUNNING"),
        Node(id="a", task="a", kind="container", scope="", component="c", state="SUCCEEDED"),
        Node(id="b", task="b", kind="container", scope="", component="c", state="RUNNING"),
        Node(id="c", task="c", kind="container", scope="", component="c", state="READY"),
        Node(id="d", task="d", kind="container", scope="", component="c"),
    )
    stop = abort_run(run, "boom", step_id="b", now=NOW)
    assert stop == ["b", "c"]
    assert (run.state, run.error, run.finished_at, run.failed_steps) == (
        "FAILED",
        "boom",
        NOW,
        ["b"],
    )
    states = {n.id: (n.state, n.reason) for n in run.nodes.values()}
    assert states == {
        "": ("FAILED", "boom"),
        "a": ("SUCCEEDED", ""),
        "b": ("FAILED", "boom"),
        "c": ("CANCELLED", "stopped: boom"),
        "d": ("CANCELLED", "not run: boom"),
    }


def test_a_run_that_has_ended_is_left_as_it_is() -> None:
    run = run_with(Node(id="a", task="a", kind="container", scope="", component="c"))
    run.state = "SUCCEEDED"
    assert abort_run(run, "boom", step_id="a", now=NOW) == []
    assert (run.state, run.error, run.nodes["a"].state) == ("SUCCEEDED", "", "PENDING")


def test_a_message_about_no_step_fails_the_run_alone() -> None:
    run = run_with(
        Node(id="a", task="a", kind="container", scope="", component="c", state="RUNNING")
    )
    assert abort_run(run, "cancel failed", step_id="", now=NOW) == ["a"]
    assert (run.state, run.failed_steps) == ("FAILED", [])
    assert run.nodes["a"].state == "CANCELLED"
