"""A run's events as the platform publishes them, each with its publication time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headrace_contracts import (
    ArtifactRef,
    Message,
    RunFailed,
    RunStarted,
    RunSucceeded,
    StepCached,
    StepFailed,
    StepReady,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    SubmitRun,
)

T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ready(run_id: str, step_id: str, attempt: int = 1) -> StepReady:
    return StepReady(
        run_id=run_id,
        step_id=step_id,
        task_name=step_id.rsplit("/", 1)[-1],
        attempt=attempt,
        executor={"container": {"image": "python"}},
        pipeline_name="train-pipeline",
    )


def succeeded_run(run_id: str = "r1") -> list[tuple[Message, datetime]]:
    """Submitted, started; 'prep' is cached, 'train' fails once and succeeds on its retry,
    'report' is skipped; the run succeeds with an output."""
    model = ArtifactRef(uri="file:///a/model", name="model")
    return [
        (
            SubmitRun(
                run_id=run_id,
                pipeline_spec={},
                arguments={"lr": 0.1},
                display_name="first",
                experiment="exp",
                labels={"team": "a", "tier": "gold"},
            ),
            at(0),
        ),
        (RunStarted(run_id=run_id, pipeline_name="train-pipeline", step_count=3), at(1)),
        (
            StepCached(
                run_id=run_id,
                step_id="prep",
                cache_key="k",
                source_run_id="r0",
                output_parameters={"n": 3},
            ),
            at(1.5),
        ),
        (ready(run_id, "train"), at(2)),
        (StepStarted(run_id=run_id, step_id="train", worker="w1"), at(3)),
        (
            StepFailed(
                run_id=run_id, step_id="train", reason="boom", exit_code=1, log_uri="file:///l1"
            ),
            at(4),
        ),
        (ready(run_id, "train", attempt=2), at(5)),
        (StepStarted(run_id=run_id, step_id="train", attempt=2, worker="w2"), at(6)),
        (
            StepSucceeded(
                run_id=run_id,
                step_id="train",
                attempt=2,
                output_artifacts={"model": [model]},
                log_uri="file:///l2",
                duration_seconds=1.25,
            ),
            at(8),
        ),
        (StepSkipped(run_id=run_id, step_id="report", reason="condition false"), at(8.5)),
        (RunSucceeded(run_id=run_id, output_artifacts={"model": [model]}), at(9)),
    ]


def failed_run(run_id: str = "r2") -> list[tuple[Message, datetime]]:
    return [
        (SubmitRun(run_id=run_id, pipeline_spec={}, experiment="other"), at(10)),
        (RunStarted(run_id=run_id, pipeline_name="other-pipeline", step_count=1), at(11)),
        (ready(run_id, "for-loop-2[0]/add"), at(12)),
        (StepStarted(run_id=run_id, step_id="for-loop-2[0]/add"), at(13)),
        (StepFailed(run_id=run_id, step_id="for-loop-2[0]/add", reason="exit 2"), at(14)),
        (RunFailed(run_id=run_id, reason="step add failed", failed_steps=["add"]), at(15)),
    ]
