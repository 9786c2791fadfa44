"""The tuner's tables (its own database; Optuna's study tables sit beside them).

``tuner_experiments``: one row per experiment (namespace + name unique), the applied Katib
document, its state and Katib condition, ``seq`` (bumped with every trial created, so two
tuners racing to fill the same slot cannot both create a trial) and ``request`` (``delete``,
kept until done). ``tuner_trials``: one row per trial, keyed by the Optuna trial number, with
its parameters, metric observations, state and reason, and ``told`` (its result is in the
Optuna study).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, func
from sqlalchemy.orm import defer
from sqlmodel import Field, Session, SQLModel, col, select

from headrace_contracts.kubeflow import ExperimentSpec

from ..trials import ACTIVE, LAST_ERRORS, TrialFacts, TrialTally

__all__ = [
    "ExperimentRow",
    "TrialRow",
    "best_of",
    "experiment_by_id",
    "facts_of",
    "recorded_numbers",
    "state_counts",
    "succeeded_of",
    "tally_of",
    "trials_of",
    "trials_page",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ExperimentRow(SQLModel, table=True):
    __tablename__ = "tuner_experiments"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_tuner_experiment_name"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: str = Field(max_length=200, unique=True)
    uid: str = Field(max_length=16)
    namespace: str = Field(default="default", max_length=63)
    name: str = Field(max_length=253)
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    digest: str = Field(default="", max_length=100)
    working_dir: str = ""
    state: str = Field(default="RUNNING", max_length=16, index=True)
    reason: str = ""
    message: str = ""
    algorithm: str = ""
    objective_type: str = ""
    objective_metric: str = ""
    objectives: list[list[str]] = Field(
        default_factory=list, sa_column=Column(JSON), description="[metric, direction] each"
    )
    goal: float | None = None
    parallel_trial_count: int = 0
    max_trial_count: int | None = None
    max_failed_trial_count: int | None = None
    seq: int = 0
    request: str = Field(default="", max_length=16)
    run_id: str = ""
    step_id: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class TrialRow(SQLModel, table=True):
    __tablename__ = "tuner_trials"
    __table_args__ = (
        UniqueConstraint("experiment_id", "number", name="uq_tuner_trial_number"),
        # The experiment's counts by state and its best trial read this index alone,
        # whatever the number of trials.
        Index("tuner_trials_outcomes", "experiment_id", "state", "objective_value", "number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: str = Field(max_length=200, index=True)
    number: int
    name: str = Field(max_length=63)
    job_id: str = Field(max_length=200, unique=True)
    parameters: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    observed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    metrics: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    intermediate: dict[str, float] = Field(
        default_factory=dict, sa_column=Column(JSON), description="step -> objective value"
    )
    reported_step: int = Field(default=-1, description="the last step given to the pruner")
    objective_value: float | None = None
    objective_values: list[float] = Field(default_factory=list, sa_column=Column(JSON))
    state: str = Field(default="CREATED", max_length=16, index=True)
    reason: str = ""
    message: str = ""
    told: bool = Field(default=False, index=True)
    job_done_at: datetime | None = Field(
        default=None, description="its job succeeded, an objective metric not seen yet"
    )
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


def experiment_by_id(session: Session, experiment_id: str) -> ExperimentRow | None:
    return session.exec(
        select(ExperimentRow).where(ExperimentRow.experiment_id == experiment_id)
    ).first()


def trials_of(session: Session, experiment_id: str) -> list[TrialRow]:
    return list(
        session.exec(
            select(TrialRow)
            .where(TrialRow.experiment_id == experiment_id)
            .order_by(col(TrialRow.number))
        ).all()
    )


def trials_page(session: Session, experiment_id: str, after: int, limit: int) -> list[TrialRow]:
    """Up to ``limit`` trials numbered above ``after``, by number (the unique index on
    experiment and number makes each page one index range, however many trials there are).

    For views, which show neither: the metric summaries (``observed``) and the objective by
    step (``intermediate``, one entry for every step a trial reports) are not loaded, as
    decoding JSON was most of a 1,000-trial page's time; reading them from these rows raises."""
    return list(
        session.exec(
            select(TrialRow)
            .options(
                defer(TrialRow.observed, raiseload=True),  # type: ignore[arg-type]
                defer(TrialRow.intermediate, raiseload=True),  # type: ignore[arg-type]
            )
            .where(TrialRow.experiment_id == experiment_id, col(TrialRow.number) > after)
            .order_by(col(TrialRow.number))
            .limit(limit)
        ).all()
    )


def facts_of(trial: TrialRow) -> TrialFacts:
    return TrialFacts(
        trial.name,
        trial.number,
        trial.state,
        trial.objective_value,
        trial.message,
        tuple(trial.objective_values),
    )


def state_counts(session: Session, experiment_id: str) -> dict[str, int]:
    """How many trials the experiment has in each state (one aggregate query)."""
    return dict(
        session.exec(
            select(TrialRow.state, func.count())
            .where(col(TrialRow.experiment_id) == experiment_id)
            .group_by(TrialRow.state)
        ).all()
    )


def best_of(session: Session, experiment_id: str, maximize: bool) -> TrialRow | None:
    """The succeeded trial with the best objective value (the lowest number among equals)."""
    value = col(TrialRow.objective_value)
    return session.exec(
        select(TrialRow)
        .where(
            col(TrialRow.experiment_id) == experiment_id,
            TrialRow.state == "SUCCEEDED",
            value.is_not(None),
        )
        .order_by(value.desc() if maximize else value.asc(), col(TrialRow.number))
        .limit(1)
    ).first()


def succeeded_of(session: Session, experiment_id: str) -> list[TrialRow]:
    """The experiment's succeeded trials, in trial order (a multi-objective front's)."""
    return list(
        session.exec(
            select(TrialRow)
            .where(col(TrialRow.experiment_id) == experiment_id, TrialRow.state == "SUCCEEDED")
            .order_by(col(TrialRow.number))
        ).all()
    )


def tally_of(session: Session, experiment_id: str, spec: ExperimentSpec) -> TrialTally:
    """The experiment's `TrialTally`, by aggregate queries (no trial list is loaded). The best
    trial is looked for only when the experiment has a goal (nothing else here needs it)."""
    counts = state_counts(session, experiment_id)
    best = None
    if spec.objective.goal is not None and not spec.objective.multi and counts.get("SUCCEEDED"):
        row = best_of(session, experiment_id, spec.objective.type == "maximize")
        best = facts_of(row) if row is not None else None
    failed = session.exec(
        select(TrialRow)
        .where(col(TrialRow.experiment_id) == experiment_id, TrialRow.state == "FAILED")
        .order_by(col(TrialRow.number).desc())
        .limit(LAST_ERRORS)
    ).all()
    return TrialTally(
        total=sum(counts.values()),
        active=sum(n for state, n in counts.items() if state in ACTIVE),
        succeeded=counts.get("SUCCEEDED", 0),
        failed=counts.get("FAILED", 0),
        best=best,
        last_failed=tuple(facts_of(t) for t in reversed(failed)),
    )


def recorded_numbers(session: Session, experiment_id: str, numbers: list[int]) -> set[int]:
    """Which of ``numbers`` the experiment has trials of."""
    if not numbers:
        return set()
    found = session.exec(
        select(TrialRow.number).where(
            TrialRow.experiment_id == experiment_id, col(TrialRow.number).in_(numbers)
        )
    ).all()
    return set(found)
