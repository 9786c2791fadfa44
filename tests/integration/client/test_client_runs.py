"""The Client against the real scheduler on a real nats-server: submit, reject, get, list,
wait, cancel. No trainer runs here, so an accepted run stays RUNNING with its first step
READY until it is cancelled."""

from __future__ import annotations

import copy
import itertools
import socket
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from artifact_pipelines import lines
from client_pipelines import summed
from client_platform import Platform, eventually

from headrace import (
    BadListQuery,
    Client,
    ClientError,
    PlatformUnavailable,
    RunExistsError,
    RunNotFound,
    RunRejectedError,
    RunTimeout,
)
from headrace.run_ids import RUN_ID
from headrace_bus import Bus, BusConfig
from headrace_contracts import GetRun, StepStarted, StepSucceeded, SubmitRun
from headrace_testing.faults import StoreFault


def test_a_compiled_spec_is_accepted_and_its_first_step_is_ready(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    run_id = client.submit(summed_spec, {"n": 3})
    assert RUN_ID.match(run_id)
    assert run_id.startswith("sum-pipeline-")
    run = client.get(run_id)
    assert run.state == "RUNNING"
    assert run.pipeline_name == "sum-pipeline"
    assert run.arguments == {"n": 3, "m": 2}
    assert run.experiment == "Default"
    assert {s.step_id: s.state for s in run.steps} == {"add": "READY", "add-2": "PENDING"}


def test_a_run_can_be_read_without_its_steps(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    run_id = client.submit(summed_spec, {"n": 3})
    whole = client.get(run_id)
    bare = client.get(run_id, steps=False)
    assert len(whole.steps) == 2
    assert bare.steps == []
    assert bare == whole.model_copy(update={"steps": []})
    with pytest.raises(RunTimeout):
        client.wait(run_id, timeout=0.3, steps=False)


def test_a_pipeline_function_is_compiled_and_submitted(platform: Platform, client: Client) -> None:
    run_id = client.submit(
        summed,
        {"n": 1, "m": 4},
        run_id="my-own-run",
        display_name="first try",
        experiment="tests",
        enable_caching=False,
        labels={"team": "a"},
    )
    assert run_id == "my-own-run"
    run = client.get(run_id)
    assert (run.display_name, run.experiment, run.enable_caching) == ("first try", "tests", False)
    assert run.arguments == {"n": 1, "m": 4}


def test_a_bad_spec_is_rejected_before_anything_is_published(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    bad = copy.deepcopy(summed_spec)
    bad["schemaVersion"] = "9.9.9"
    with pytest.raises(RunRejectedError) as caught:
        client.submit(bad, {"n": 1})
    assert "schemaVersion '9.9.9' is not supported" in str(caught.value)
    assert platform.submits() == 0
    assert client.list_runs().runs == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "parameter 'n': is required and has no default: pass it (CLI: -p n=VALUE)"),
        ({"n": "five"}, "parameter 'n': expects NUMBER_INTEGER (int) but got str \"five\""),
        ({"n": 1, "k": 2}, "has no parameter 'k' (its parameters: m, n)"),
    ],
)
def test_bad_arguments_are_rejected_with_the_parameter_named(
    platform: Platform,
    client: Client,
    summed_spec: dict[str, Any],
    arguments: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(RunRejectedError) as caught:
        client.submit(summed_spec, arguments)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert platform.submits() == 0


def test_a_run_the_scheduler_rejects_reads_as_rejected_with_its_reason(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    async def publish_around_the_client() -> None:
        bus = Bus(BusConfig(url=platform.url), source="tests/other-submitter")
        await bus.connect()
        try:
            await bus.publish(
                SubmitRun(run_id="bad-args", pipeline_spec=summed_spec, arguments={"n": "x"})
            )
        finally:
            await bus.close()

    platform.run(publish_around_the_client())
    assert _appears(client, "bad-args"), "the scheduler never recorded run 'bad-args'"
    run = client.wait("bad-args", timeout=30)
    assert run.state == "REJECTED"
    assert "parameter 'n': expects NUMBER_INTEGER (int)" in run.error


def test_submit_raises_the_reason_when_the_scheduler_gives_up_on_the_run(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    engine = platform.services[0].engine
    assert engine is not None
    fault = StoreFault(engine, statement="INSERT INTO runs", times=5)  # a locked database
    with pytest.raises(RunRejectedError) as caught:
        client.submit(summed_spec, {"n": 1}, run_id="locked-out")
    assert caught.value.run_id == "locked-out"
    assert caught.value.reason.startswith(
        "the scheduler could not start the run: failed 5 deliveries; last error OperationalError: ("
    ), caught.value.reason
    assert "database is locked" in caught.value.reason
    assert 5 <= fault.hits <= 6  # the first delivery may also have been tried in a batch
    assert client.get("locked-out").state == "REJECTED"


def test_an_input_artifact_is_passed_as_a_uri_argument(
    platform: Platform, client: Client, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a\n")
    run_id = client.submit(lines, {"data": data.as_uri()})
    assert client.get(run_id).arguments == {"data": data.as_uri()}
    with pytest.raises(RunRejectedError) as caught:
        client.submit(lines, {"data": "models:/churn/3"})
    assert "'models:/churn/3' does not resolve: " in str(caught.value)
    with pytest.raises(RunRejectedError) as caught:
        client.submit(lines, {"data": "models:/churn/0"})  # refused before it is sent
    assert "'models:/churn/0' names no version" in str(caught.value)
    with pytest.raises(RunRejectedError, match="input artifact 'data': is required"):
        client.submit(lines, {})


def _appears(client: Client, run_id: str) -> bool:
    for _ in range(300):
        try:
            client.get(run_id)
            return True
        except RunNotFound:
            time.sleep(0.05)
    return False


def test_a_taken_run_id_is_refused(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    client.submit(summed_spec, {"n": 1}, run_id="twice")
    with pytest.raises(RunExistsError, match=r"run 'twice' already exists \(RUNNING\)"):
        client.submit(summed_spec, {"n": 2}, run_id="twice")
    assert client.get("twice").arguments["n"] == 1


def test_an_invalid_run_id_is_refused_locally(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    with pytest.raises(RunRejectedError, match="must be 1-128 letters"):
        client.submit(summed_spec, {"n": 1}, run_id="has space")
    assert platform.submits() == 0


def test_list_runs_filters_by_experiment_and_state(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    first = client.submit(summed_spec, {"n": 1}, experiment="a", labels={"team": "x"})
    second = client.submit(summed_spec, {"n": 2}, experiment="b")
    client.cancel(first)
    assert client.wait(first, timeout=30).state == "CANCELLED"

    def ids(**query: Any) -> list[str]:
        return [r.run_id for r in client.list_runs(**query).runs]

    eventually(lambda: ids(state="CANCELLED"), lambda found: found == [first])
    assert ids() == [second, first]
    assert ids(experiment="a") == [first]
    assert ids(state="running") == [second]
    assert ids(labels={"team": "x"}) == [first]
    assert ids(pipeline="sum-pipeline", sort="duration") == [second, first]  # unfinished last
    page = client.list_runs(limit=1)
    assert ([r.run_id for r in page.runs], page.total) == ([second], 2)
    rest = client.list_runs(limit=1, page_token=page.next_page_token)
    assert ([r.run_id for r in rest.runs], rest.total, rest.next_page_token) == ([first], 2, "")
    assert all(r.steps == [] for r in client.list_runs().runs)
    assert client.list_runs(state="RUNNING").runs[0].step_states == {"READY": 1}
    with pytest.raises(ValueError, match="unknown run state 'DONE'"):
        client.list_runs(state="DONE")
    with pytest.raises(BadListQuery, match="unknown sort 'size': sort by created, finished"):
        client.list_runs(sort="size")
    with pytest.raises(BadListQuery, match="limit must be from 1 to 10000, got -1"):
        client.list_runs(limit=-1)
    with pytest.raises(BadListQuery, match="page_token 'nope' is not a page token"):
        client.list_runs(page_token="nope")


def test_cancel_ends_a_run_that_never_started(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    run_id = client.submit(summed_spec, {"n": 1})
    before = client.cancel(run_id, reason="not today")
    assert before.state == "RUNNING"
    run = client.wait(run_id, timeout=30)
    assert run.state == "CANCELLED"
    assert all(s.state in ("CANCELLED", "SKIPPED") for s in run.steps)
    assert client.cancel(run_id).state == "CANCELLED"  # an ended run stays as it is


def test_wait_times_out_naming_the_run_and_its_state(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    run_id = client.submit(summed_spec, {"n": 1})
    with pytest.raises(RunTimeout) as caught:
        client.wait(run_id, timeout=0.3)
    assert (caught.value.run_id, caught.value.state) == (run_id, "RUNNING")
    assert f"run {run_id!r} is still RUNNING after 0.3s" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)


def test_waiting_asks_for_the_run_less_and_less_often(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    """The final event wakes a wait; asking the scheduler is only a fallback, after 0.5, 1, 2
    and then at most every 5 s (asking for a large run costs the scheduler more than its
    steps), where it used to ask every 0.5 s (13 times in these 6 s)."""
    run_id = client.submit(summed_spec, {"n": 1})
    asked: list[float] = []

    async def count() -> Any:
        connection = await nats.connect(platform.url)

        async def seen(msg: Any) -> None:
            if run_id.encode() in msg.data:
                asked.append(time.monotonic())

        await connection.subscribe(GetRun.subject(), cb=seen)
        await connection.flush()
        return connection

    watcher = platform.run(count())
    try:
        start = time.monotonic()
        with pytest.raises(RunTimeout):
            client.wait(run_id, timeout=6.0)
    finally:
        platform.run(watcher.close())
    assert 4 <= len(asked) <= 6, [round(t - start, 2) for t in asked]
    gaps = [later - earlier for earlier, later in itertools.pairwise(asked)]
    assert gaps[0] < gaps[1] < gaps[2], gaps


def test_an_unknown_run_is_named(platform: Platform, client: Client) -> None:
    for call in (client.get, client.wait, client.cancel, client.logs):
        with pytest.raises(RunNotFound, match="no run 'nope' is known to the scheduler"):
            call("nope")


def test_logs_of_a_step_that_has_not_run(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    run_id = client.submit(summed_spec, {"n": 1})
    with pytest.raises(ClientError, match=r"step 'add' of run .* has no log yet \(it is READY\)"):
        client.logs(run_id, "add")
    with pytest.raises(ClientError, match=r"has no step 'train' \(its steps: add, add-2\)"):
        client.logs(run_id, "train")
    assert client.logs(run_id) == (
        "==> add (READY) <==\n(no log yet: the step is READY)\n"
        "==> add-2 (PENDING) <==\n(no log yet: the step is PENDING)\n"
    )


def test_without_a_scheduler_the_error_says_to_start_the_platform(
    bare: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    expected = f"no scheduler answers on NATS at {bare.url}: start the platform with `headrace up`"
    with pytest.raises(PlatformUnavailable) as caught:
        client.submit(summed_spec, {"n": 1})
    assert str(caught.value) == expected
    assert bare.submits() == 0
    with pytest.raises(PlatformUnavailable, match="no metadata service answers"):
        client.list_runs()


def test_without_nats_the_error_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"nats://127.0.0.1:{sock.getsockname()[1]}"
    with Client(nats_url=url, timeout=1.0) as client, pytest.raises(PlatformUnavailable) as caught:
        client.list_runs()
    assert f"cannot reach NATS at {url}" in str(caught.value)
    assert "`headrace up`" in str(caught.value)


def test_a_closed_client_says_so(platform: Platform, settings: Any) -> None:
    client = Client(nats_url=platform.url)
    assert client.list_runs().runs == []
    client.close()
    client.close()
    with pytest.raises(ClientError, match="this Client is closed"):
        client.list_runs()


def test_watch_is_woken_by_the_runs_events_and_shows_each_change(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    # No trainer runs here: its events are published by hand, as a launcher would.
    run_id = client.submit(summed_spec, {"n": 3})
    launcher = Bus(BusConfig(url=platform.url), source="tests/launcher")
    platform.run(launcher.connect())
    started = time.monotonic()
    views = client.watch(run_id, deadline=started + 60)
    try:
        seen = [next(views)]
        assert {s.step_id: s.state for s in seen[0].steps} == {"add": "READY", "add-2": "PENDING"}

        def step(view: Any, step_id: str) -> Any:
            return next(s for s in view.steps if s.step_id == step_id)

        def next_view_where(step_id: str, state: str) -> Any:
            while step(view := next(views), step_id).state != state:
                seen.append(view)
            seen.append(view)
            return view

        platform.run(launcher.publish(StepStarted(run_id=run_id, step_id="add", worker="t-0")))
        assert step(next_view_where("add", "RUNNING"), "add").worker == "t-0"
        succeeded = StepSucceeded(run_id=run_id, step_id="add", output_parameters={"Output": 5})
        platform.run(launcher.publish(succeeded))
        assert step(next_view_where("add-2", "READY"), "add").state == "SUCCEEDED"
        client.cancel(run_id)
        assert [v.state for v in views] == ["CANCELLED"]
    finally:
        views.close()
        platform.run(launcher.close())
    # Each view showed something new (no view repeats the one before it), and without
    # polling there are few: one per change, at most one more look after each event, and
    # one per 5 s without events (a slow machine).
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert len(seen) <= 8 + (time.monotonic() - started) / 5
