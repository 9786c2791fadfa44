"""A pipeline runs to the end through the real scheduler and the real trainer (steps as
local processes): outputs, per-step outputs and logs come back through the Client and CLI."""

from __future__ import annotations

import pytest
from client_pipelines import PIPELINE_PY, summed
from client_platform import Platform, eventually

from headrace import Client
from headrace.cli import main
from headrace_contracts import RunSucceeded, StepReady
from headrace_testing.metrics import sample, scrape


@pytest.fixture
def full(platform: Platform) -> Platform:
    platform.start_trainer()
    return platform


def test_a_pipeline_succeeds_with_its_outputs_and_logs(full: Platform, client: Client) -> None:
    run_id = client.submit(summed, {"n": 3}, labels={"suite": "e2e"})
    run = client.wait(run_id, timeout=120)
    assert (run.state, run.error) == ("SUCCEEDED", "")
    assert run.output_parameters == {"Output": 15}
    steps = {s.step_id: s for s in run.steps}
    assert {k: (s.state, s.output_parameters) for k, s in steps.items()} == {
        "add": ("SUCCEEDED", {"Output": 5}),
        "add-2": ("SUCCEEDED", {"Output": 15}),
    }
    assert "adding 3 and 2" in client.logs(run_id, "add")
    every = client.logs(run_id)
    assert every.index("==> add (SUCCEEDED) <==") < every.index("adding 3 and 2")
    assert every.index("==> add-2 (SUCCEEDED) <==") < every.index("adding 5 and 10")

    again = client.wait(client.submit(summed, {"n": 3}), timeout=120)
    assert again.output_parameters == {"Output": 15}
    assert all(s.cached and s.state == "CACHED" for s in again.steps)

    # The metadata service's read model lists both runs from their events alone (eventually:
    # it may see a run's final event before the events of its steps).
    page = eventually(
        lambda: client.list_runs(state="SUCCEEDED", sort="finished"),
        lambda p: p.total == 2 and all(sum(r.step_states.values()) == 2 for r in p.runs),
    )
    listed = {r.run_id: r for r in page.runs}
    assert [r.run_id for r in page.runs] == [again.run_id, run_id]
    first = listed[run_id]
    assert (first.pipeline_name, first.experiment, first.labels) == (
        "sum-pipeline",
        "Default",
        {"suite": "e2e"},
    )
    assert (first.step_count, first.step_states) == (2, {"SUCCEEDED": 2})
    assert listed[again.run_id].step_states == {"CACHED": 2}
    assert first.arguments == {"n": 3}
    assert first.output_parameters == {"Output": 15}
    assert first.duration_seconds is not None
    assert first.duration_seconds > 0
    assert first.created_at <= first.started_at <= first.finished_at
    assert [r.run_id for r in client.list_runs(labels={"suite": "e2e"}).runs] == [run_id]

    # Each service's metrics endpoint: the steps and runs by state and duration (metadata),
    # the trainer's slots, and what the scheduler published.
    urls = {s.name: s.metrics.url for s in full.services if s.metrics is not None}
    recorded = scrape(urls["metadata"])
    assert sample(recorded, "headrace_steps_total", state="succeeded") == 2
    assert sample(recorded, "headrace_steps_total", state="cached") == 2
    assert sample(recorded, "headrace_runs_total", state="succeeded") == 2
    assert sample(recorded, "headrace_step_duration_seconds_count", state="succeeded") == 2
    assert sample(recorded, "headrace_run_duration_seconds_count", state="succeeded") == 2
    slowest = sample(recorded, "headrace_run_duration_seconds_sum", state="succeeded")
    assert slowest is not None
    assert 0 < slowest < 120
    trainer = scrape(urls["trainer"])
    assert sample(trainer, "headrace_launcher_slots", state="capacity") == 2
    assert sample(trainer, "headrace_launcher_slots", state="used") == 0
    ready = sample(trainer, "headrace_handler_calls_total", message_type=StepReady.ce_type())
    assert ready == 2
    published = scrape(urls["scheduler"])
    succeeded = RunSucceeded.ce_type()
    assert sample(published, "headrace_events_published_total", message_type=succeeded) == 2


def test_submit_watch_exits_0_on_success(
    full: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "submit", str(PIPELINE_PY), "-p", "n=4", "--watch", "--nats-url", full.url]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    run_id = out[0].removeprefix("submitted ")
    assert out[-1] == f"run {run_id}: SUCCEEDED"
    assert any(line.startswith("add-2: SUCCEEDED") for line in out)

    assert main(["run", "logs", run_id, "add", "--nats-url", full.url]) == 0
    assert "adding 4 and 2" in capsys.readouterr().out
