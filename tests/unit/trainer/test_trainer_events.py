"""The events an outcome becomes, in order, with distinct keys."""

from __future__ import annotations

from headrace_contracts import (
    ArtifactRef,
    ArtifactWritten,
    MetricReported,
    StepCancelled,
    StepFailed,
    StepReady,
    StepSucceeded,
)
from headrace_trainer.events import outcome_events
from headrace_trainer.executor import Metric, Outcome

STEP = StepReady(run_id="r", step_id="root/t", task_name="t", attempt=3, executor={})


def test_success_lists_artifacts_metrics_then_the_result() -> None:
    ref = ArtifactRef(uri="file:///a/m", name="m", schema_title="system.Metrics")
    outcome = Outcome(
        status="succeeded",
        output_parameters={"n": 1},
        output_artifacts={"m": [ref]},
        metrics=[Metric(output_name="m", name="acc", value=0.5)],
        log_uri="file:///a/log.txt",
    )
    events = outcome_events(STEP, outcome, "trainer-1")
    assert [type(message) for message, _ in events] == [
        ArtifactWritten,
        MetricReported,
        StepSucceeded,
    ]
    assert len({(type(m), key) for m, key in events}) == len(events)
    done = events[-1][0]
    assert isinstance(done, StepSucceeded)
    assert (done.attempt, done.output_parameters, done.log_uri) == (3, {"n": 1}, outcome.log_uri)
    assert done.worker == "trainer-1"


def test_failure_and_cancellation_are_single_events() -> None:
    failed = outcome_events(STEP, Outcome(status="failed", reason="boom", exit_code=2), "t-0")
    assert len(failed) == 1
    message = failed[0][0]
    assert isinstance(message, StepFailed)
    assert (message.reason, message.exit_code, message.attempt) == ("boom", 2, 3)
    assert message.worker == "t-0"
    cancelled = outcome_events(STEP, Outcome(status="cancelled", reason="user"))
    assert isinstance(cancelled[0][0], StepCancelled)
