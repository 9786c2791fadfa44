"""Rows of the run read model as the ``RunView``/``StepView`` the client reads."""

from __future__ import annotations

from datetime import datetime

from headrace_contracts import ArtifactRef, RunView, StepView

from .fold import duration
from .tables import RunRow, StepRow


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def run_view(
    row: RunRow, *, steps: list[StepRow] | None = None, step_states: dict[str, int] | None = None
) -> RunView:
    return RunView(
        run_id=row.run_id,
        state=row.state,
        display_name=row.display_name,
        pipeline_name=row.pipeline_name,
        experiment=row.experiment,
        arguments=row.arguments,
        enable_caching=row.enable_caching,
        created_at=iso(row.created_at),
        finished_at=iso(row.finished_at),
        error=row.error,
        output_parameters=row.output_parameters,
        output_artifacts=_artifacts(row.output_artifacts),
        steps=[step_view(s) for s in steps or []],
        labels=row.labels,
        started_at=iso(row.started_at),
        duration_seconds=duration(row),
        step_count=row.step_count,
        step_states=dict(step_states or {}),
    )


def step_view(row: StepRow) -> StepView:
    elapsed = None
    if row.started_at is not None and row.finished_at is not None:
        elapsed = round((row.finished_at - row.started_at).total_seconds(), 3)
    return StepView(
        step_id=row.step_id,
        task_name=row.task_name,
        kind=row.kind,
        parent=row.parent,
        state=row.state,
        attempts=row.attempts,
        cached=row.cached,
        cache_source_run_id=row.cache_source_run_id,
        output_parameters=row.output_parameters,
        output_artifacts=_artifacts(row.output_artifacts),
        log_uri=row.log_uri,
        worker=row.worker,
        reason=row.reason,
        exit_code=row.exit_code,
        started_at=iso(row.started_at),
        finished_at=iso(row.finished_at),
        duration_seconds=row.duration_seconds if row.duration_seconds is not None else elapsed,
    )


def _artifacts(found: dict[str, object]) -> dict[str, list[ArtifactRef]]:
    return {
        k: [ArtifactRef.model_validate(a) for a in v]  # type: ignore[attr-defined]
        for k, v in found.items()
    }
