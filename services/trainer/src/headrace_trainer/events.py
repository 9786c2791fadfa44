"""What the launcher publishes for an outcome (pure): artifacts, metrics, then the result."""

from __future__ import annotations

from headrace_contracts import (
    ArtifactWritten,
    Message,
    MetricReported,
    StepCancelled,
    StepFailed,
    StepReady,
    StepSucceeded,
)

from .executor import Outcome

__all__ = ["outcome_events"]


def outcome_events(
    step: StepReady, outcome: Outcome, worker: str = ""
) -> list[tuple[Message, str]]:
    """``(message, key)`` pairs in publishing order; keys tell apart messages of one type.
    ``worker`` names the launcher replica that ran the step."""
    ids = {"run_id": step.run_id, "step_id": step.step_id}
    if outcome.status == "cancelled":
        return [(StepCancelled(**ids, reason=outcome.reason), "")]
    if outcome.status == "failed":
        failed = StepFailed(
            **ids,
            attempt=step.attempt,
            reason=outcome.reason,
            exit_code=outcome.exit_code,
            stderr_tail=outcome.stderr_tail,
            log_uri=outcome.log_uri,
            worker=worker,
        )
        return [(failed, "")]
    found: list[tuple[Message, str]] = []
    for name, refs in outcome.output_artifacts.items():
        for index, ref in enumerate(refs):
            written = ArtifactWritten(artifact=ref, **ids, output_name=name)
            found.append((written, f"{name}/{index}"))
    for metric in outcome.metrics:
        reported = MetricReported(metric=metric.name, value=metric.value, **ids)
        found.append((reported, f"{metric.output_name}/{metric.name}"))
    succeeded = StepSucceeded(
        **ids,
        attempt=step.attempt,
        output_parameters=outcome.output_parameters,
        output_artifacts=outcome.output_artifacts,
        log_uri=outcome.log_uri,
        duration_seconds=outcome.duration_seconds,
        worker=worker,
    )
    found.append((succeeded, ""))
    return found
