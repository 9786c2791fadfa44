"""Run state as the client sees it (``GetRun``); listing is the metadata service's."""

from __future__ import annotations

from datetime import datetime

from headrace_contracts import ArtifactRef, RunView, StepView

from .state import Node, RunState


def run_view(run: RunState) -> RunView:
    return RunView(
        run_id=run.run_id,
        state=run.state,
        display_name=run.display_name,
        pipeline_name=run.pipeline_name,
        experiment=run.experiment,
        arguments={**run.arguments, **_uris(run.input_artifacts)},
        enable_caching=run.enable_caching,
        created_at=run.created_at,
        finished_at=run.finished_at,
        error=run.error,
        output_parameters=run.out_parameters,
        output_artifacts=_artifacts(run.out_artifacts),
        steps=[step_view(n) for n in run.nodes.values() if n.id],
    )


def step_view(node: Node) -> StepView:
    return StepView(
        step_id=node.id,
        task_name=node.task,
        kind=node.kind,
        parent=node.scope,
        state=node.state,
        attempts=node.attempt,
        cached=node.cached,
        cache_source_run_id=node.cache_source.split("/", 1)[0] if node.cache_source else "",
        output_parameters=node.out_parameters,
        output_artifacts=_artifacts(node.out_artifacts),
        log_uri=node.log_uri,
        worker=node.worker,
        reason=node.reason,
        exit_code=node.exit_code,
        started_at=node.started_at,
        finished_at=node.finished_at,
        duration_seconds=node.duration if node.duration is not None else _elapsed(node),
    )


def _artifacts(found: dict[str, list[dict[str, object]]]) -> dict[str, list[ArtifactRef]]:
    return {k: [ArtifactRef.model_validate(a) for a in v] for k, v in found.items()}


def _uris(inputs: dict[str, list[dict[str, object]]]) -> dict[str, object]:
    """Input artifacts as the URIs they were bound from (a list for a list input)."""
    return {k: v[0]["uri"] if len(v) == 1 else [a["uri"] for a in v] for k, v in inputs.items()}


def _elapsed(node: Node) -> float | None:
    if not node.started_at or not node.finished_at:
        return None
    start = datetime.fromisoformat(node.started_at)
    end = datetime.fromisoformat(node.finished_at)
    return round((end - start).total_seconds(), 3)
