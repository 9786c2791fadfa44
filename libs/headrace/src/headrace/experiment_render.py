"""What ``headrace experiment`` prints (text; ``--json`` prints the models)."""

from __future__ import annotations

from collections.abc import Sequence

from headrace_contracts import ExperimentView, TrialView

__all__ = ["render_experiment", "render_experiments", "render_trials"]


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _value(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def render_experiments(experiments: list[ExperimentView]) -> str:
    if not experiments:
        return "no experiments"
    rows = [("NAMESPACE", "NAME", "STATE", "ALGORITHM", "TRIALS", "BEST", "CREATED")]
    for e in experiments:
        best = _value(e.best_trial.objective_value) if e.best_trial else ""
        rows.append(
            (
                e.namespace,
                e.name,
                e.state,
                e.algorithm,
                str(e.trials_created),
                best,
                e.created_at[:19],
            )
        )
    return _table(rows)


def render_trials(experiment: ExperimentView) -> str:
    trials: list[TrialView] = experiment.trials
    if not trials:
        return "no trials yet"
    parameters = sorted({name for t in trials for name in t.parameters})
    metrics = sorted({name for t in trials for name in t.metrics})
    rows = [("TRIAL", "STATE", *parameters, *metrics, "REASON")]
    for t in trials:
        rows.append(
            (
                t.name,
                t.state,
                *(t.parameters.get(name, "") for name in parameters),
                *(_value(t.metrics.get(name)) for name in metrics),
                t.reason if t.state != "SUCCEEDED" else "",
            )
        )
    return _table(rows)


def render_experiment(experiment: ExperimentView) -> str:
    e = experiment
    goal = f", goal {e.goal:g}" if e.goal is not None else ""
    budget = f"{e.max_trial_count}" if e.max_trial_count is not None else "unbounded"
    objective = f"{e.objective_type} {e.objective_metric}{goal}"
    if len(e.objectives) > 1:
        objective = ", ".join(o.replace(":", " ") for o in e.objectives)
    lines = [
        f"Name:       {e.namespace}/{e.name}",
        f"State:      {e.state}" + (f" ({e.reason})" if e.reason else ""),
        f"Objective:  {objective}",
        f"Algorithm:  {e.algorithm}",
        f"Trials:     {e.trials_created} of {budget} ({e.parallel_trial_count} in parallel): "
        f"{e.trials_running} running, {e.trials_succeeded} succeeded, {e.trials_failed} "
        f"failed, {e.trials_killed} killed, {e.trials_early_stopped} early stopped",
        f"Created:    {e.created_at}",
    ]
    if e.finished_at:
        lines.append(f"Finished:   {e.finished_at}")
    if e.message:
        lines.append(f"Message:    {e.message}")
    if e.best_trial is not None:
        best = e.best_trial
        shown = ", ".join(f"{k}={v}" for k, v in best.parameters.items())
        lines.append(
            f"Best trial: {best.name}: {e.objective_metric}="
            f"{_value(best.objective_value)} with {shown}"
        )
    if e.pareto_front:
        names = [o.split(":")[0] for o in e.objectives]
        lines.append("Pareto front:")
        for trial in e.pareto_front:
            values = ", ".join(
                f"{n}={_value(v)}" for n, v in zip(names, trial.objective_values, strict=False)
            )
            shown = ", ".join(f"{k}={v}" for k, v in trial.parameters.items())
            lines.append(f"  {trial.name}: {values} with {shown}")
    lines.append("")
    lines.append(render_trials(e))
    failed = [t for t in e.trials if t.message and t.state != "SUCCEEDED"]
    if failed:
        lines.append("")
        lines.append("Errors:")
        lines.extend(f"  {t.name}: {t.message}" for t in failed)
    return "\n".join(lines)
