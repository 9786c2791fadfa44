"""Rows -> the views the tuner's queries answer with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from headrace_contracts import ExperimentView, TrialView

from ..trials import TrialFacts, pareto_front
from .store import ExperimentRow, TrialRow

__all__ = ["experiment_view", "summary_view", "trial_view"]


def _time(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def trial_view(row: TrialRow) -> TrialView:
    return TrialView(
        name=row.name,
        number=row.number,
        state=row.state,
        parameters=dict(row.parameters),
        metrics=dict(row.metrics),
        objective_value=row.objective_value,
        objective_values=list(row.objective_values),
        reason=row.reason,
        message=row.message,
        job_id=row.job_id,
        created_at=_time(row.created_at),
        finished_at=_time(row.finished_at),
    )


def experiment_view(
    row: ExperimentRow, trials: Sequence[TrialRow], *, with_trials: bool
) -> ExperimentView:
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    done = [t for t in trials if t.state == "SUCCEEDED" and t.objective_value is not None]
    sign = 1.0 if row.objective_type != "maximize" else -1.0
    best = min(done, key=lambda t: (sign * (t.objective_value or 0.0), t.number), default=None)
    succeeded = [t for t in trials if t.state == "SUCCEEDED"]
    return _view(row, counts, best, succeeded, trials if with_trials else None)


def summary_view(
    row: ExperimentRow,
    counts: dict[str, int],
    best: TrialRow | None,
    succeeded: Sequence[TrialRow],
    *,
    spec: bool = False,
) -> ExperimentView:
    """The view without trials (and without the spec unless ``spec``), from what aggregate
    queries give: the trials per state, the best trial and, multi-objective, the succeeded
    trials in order."""
    return _view(row, counts, best, succeeded, None, spec=spec)


def _view(
    row: ExperimentRow,
    by_state: dict[str, int],
    best: TrialRow | None,
    succeeded: Sequence[TrialRow],
    trials: Sequence[TrialRow] | None,
    *,
    spec: bool = False,
) -> ExperimentView:
    counts = {state: 0 for state in ("RUNNING", "SUCCEEDED", "FAILED", "KILLED", "EARLY_STOPPED")}
    for state, n in by_state.items():
        key = "RUNNING" if state == "CREATED" else state
        counts[key] = counts.get(key, 0) + n
    front: list[TrialRow] = []
    if len(row.objectives) > 1:
        best = None
        facts = [
            TrialFacts(
                t.name, t.number, t.state, t.objective_value, values=tuple(t.objective_values)
            )
            for t in succeeded
        ]
        names = {f.name for f in pareto_front([d for _, d in row.objectives], facts)}
        front = [t for t in succeeded if t.name in names]
    return ExperimentView(
        experiment_id=row.experiment_id,
        name=row.name,
        namespace=row.namespace,
        state=row.state,
        reason=row.reason,
        message=row.message,
        algorithm=row.algorithm,
        objective_type=row.objective_type,
        objective_metric=row.objective_metric,
        goal=row.goal,
        parallel_trial_count=row.parallel_trial_count,
        max_trial_count=row.max_trial_count,
        max_failed_trial_count=row.max_failed_trial_count,
        trials_created=sum(by_state.values()),
        trials_running=counts["RUNNING"],
        trials_succeeded=counts["SUCCEEDED"],
        trials_failed=counts["FAILED"],
        trials_killed=counts["KILLED"],
        trials_early_stopped=counts["EARLY_STOPPED"],
        objectives=[f"{name}:{direction}" for name, direction in row.objectives],
        best_trial=trial_view(best) if best else None,
        pareto_front=[trial_view(t) for t in front],
        trials=[trial_view(t) for t in trials] if trials is not None else [],
        created_at=_time(row.created_at),
        finished_at=_time(row.finished_at),
        spec=dict(row.spec) if trials is not None or spec else {},
    )
