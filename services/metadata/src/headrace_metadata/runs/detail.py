"""One run with its steps, and the experiments runs are filed under, from the read model."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from headrace_contracts import RunExperiment, RunExperimentList, RunView

from .query import step_states
from .tables import RunRow, StepRow
from .views import iso, run_view


def get_run(session: Session, run_id: str) -> RunView | None:
    """The run ``run_id`` with every step the read model holds, or ``None`` when unknown."""
    row = session.get(RunRow, run_id)
    if row is None:
        return None
    steps = session.exec(
        select(StepRow).where(col(StepRow.run_id) == run_id).order_by(col(StepRow.step_id))
    ).all()
    return run_view(row, steps=list(steps), step_states=step_states(session, [run_id]).get(run_id))


def list_experiments(session: Session, *, limit: int) -> RunExperimentList:
    """Experiments by name with how many runs each has (runs with no experiment left out)."""
    named = col(RunRow.experiment) != ""
    found = session.exec(
        select(RunRow.experiment, func.count(), func.max(RunRow.created_at))
        .where(named)
        .group_by(col(RunRow.experiment))
        .order_by(col(RunRow.experiment))
        .limit(limit)
    ).all()
    total = session.exec(select(func.count(func.distinct(RunRow.experiment))).where(named)).one()
    return RunExperimentList(
        experiments=[
            RunExperiment(name=name, run_count=count, last_created_at=iso(last))
            for name, count, last in found
        ],
        total=total,
    )
