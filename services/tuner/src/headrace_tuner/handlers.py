"""The tuner's subscribers: thin. Each records what happened on the experiment's or the
trial's row (in the handler's transaction) and wakes the driver once that commits; the
queries are answered from the rows.

* ``CreateExperiment``: the Katib document is loaded and its search planned; one that cannot
  run is recorded FAILED (``InvalidExperiment``, every problem in its message) and
  ``ExperimentFailed`` published. The same namespace and name with the same document is the
  same experiment (nothing happens); with another document it is refused in the log (``headrace
  apply`` checks it first and says so).
* ``DeleteExperiment``: asked of the driver, which stops the trials and forgets it.
* ``StopExperiment``: a running experiment ends now, STOPPED (``ExperimentStopped``, the
  command's reason as its message): no trial is created any more and the trials still running
  are killed (their jobs cancelled, ``TrialKilled``), as Katib ends an experiment that has
  completed. The experiment, its trials and its best trial stay to be read. An experiment
  that has already ended is left as it is.
* The trainer's job events and ``MetricReported`` of a trial's job move the trial: Running,
  metric observations (and intermediate objective values for the pruner), Succeeded with its
  objective reduced by the metric strategy — or Failed ``MetricsUnavailable`` when the
  objective metric was never reported — Failed with the job's reason, or Killed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from headrace_contracts import (
    CancelTrainingJob,
    CreateExperiment,
    DeleteExperiment,
    ExperimentDetail,
    ExperimentFailed,
    ExperimentList,
    ExperimentStarted,
    ExperimentStopped,
    ExperimentView,
    GetExperiment,
    ListExperiments,
    ListTrials,
    MetricReported,
    StopExperiment,
    TrainingJobCancelled,
    TrainingJobFailed,
    TrainingJobRunning,
    TrainingJobSucceeded,
    TrialFailed,
    TrialKilled,
    TrialList,
    TrialStarted,
)
from headrace_contracts.kubeflow import ExperimentSpec, ManifestError, parse_experiment
from headrace_contracts.tuning_views import TRIALS_IN_ONE_REPLY
from headrace_runtime import HandlerContext

from .errors import SearchError
from .experiments.outcomes import apply_outcome
from .experiments.store import (
    ExperimentRow,
    TrialRow,
    best_of,
    experiment_by_id,
    state_counts,
    succeeded_of,
    trials_page,
    utcnow,
)
from .experiments.views import experiment_view, summary_view, trial_view
from .search import plan_search
from .trials import ACTIVE, observe, reduce_metrics
from .trials.outcome import settle

__all__ = ["TunerHandlers"]

log = logging.getLogger("headrace.tuner")


def spec_digest(spec: dict[str, Any], working_dir: str) -> str:
    text = json.dumps({"spec": spec, "dir": working_dir}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class TunerHandlers:
    def __init__(self, wake: Callable[[str], None], engine_session: Callable[[], Session]) -> None:
        self._wake = wake
        self._session = engine_session

    def _wake_after_commit(self, experiment_id: str) -> None:
        # The runtime commits before it gives the event loop back (one message per handling).
        asyncio.get_running_loop().call_soon(self._wake, experiment_id)

    # commands --------------------------------------------------------------------------

    async def create(self, command: CreateExperiment, ctx: HandlerContext[Any]) -> None:
        session = ctx.session
        metadata = command.spec.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        namespace, _, fallback = command.experiment_id.rpartition("/")
        name = str(metadata.get("name") or fallback)
        namespace = str(metadata.get("namespace") or namespace or "default")
        digest = spec_digest(command.spec, command.working_dir)
        existing = session.exec(
            select(ExperimentRow).where(
                ExperimentRow.namespace == namespace, ExperimentRow.name == name
            )
        ).first()
        if existing is not None:
            if existing.digest != digest:
                log.warning(
                    "experiment %s/%s exists with another spec: create %s refused "
                    "(delete it first)",
                    namespace,
                    name,
                    command.experiment_id,
                )
            return
        row = ExperimentRow(
            experiment_id=command.experiment_id,
            uid=hashlib.sha256(ctx.event_id.encode()).hexdigest()[:5],
            namespace=namespace,
            name=name,
            spec=command.spec,
            digest=digest,
            working_dir=command.working_dir,
            run_id=command.run_id,
            step_id=command.step_id,
        )
        try:
            spec = parse_experiment(command.spec)
            plan_search(spec)
        except (ManifestError, SearchError) as error:
            row.state, row.reason, row.message = "FAILED", "InvalidExperiment", str(error)
            row.finished_at = utcnow()
            session.add(row)
            ctx.publish(
                ExperimentFailed(
                    experiment_id=command.experiment_id,
                    reason=str(error),
                    condition="InvalidExperiment",
                )
            )
            return
        _describe(row, spec)
        session.add(row)
        ctx.publish(
            ExperimentStarted(
                experiment_id=command.experiment_id,
                max_trial_count=spec.max_trial_count or 0,
                parallel_trial_count=spec.parallel_trial_count,
            )
        )
        self._wake_after_commit(command.experiment_id)

    async def delete(self, command: DeleteExperiment, ctx: HandlerContext[Any]) -> None:
        row = experiment_by_id(ctx.session, command.experiment_id)
        if row is None:
            return
        row.request = "delete"
        ctx.session.add(row)
        self._wake_after_commit(command.experiment_id)

    async def stop(self, command: StopExperiment, ctx: HandlerContext[Any]) -> None:
        row = experiment_by_id(ctx.session, command.experiment_id)
        if row is None or row.state != "RUNNING":
            log.info(
                "stop %s: %s, nothing to stop",
                command.experiment_id,
                "no such experiment" if row is None else f"it has already ended ({row.state})",
            )
            return
        reason = command.reason or "stopped by user"
        row.state, row.reason, row.message = "STOPPED", "ExperimentStopped", reason
        row.finished_at = utcnow()
        ctx.session.add(row)
        # Written first: on PostgreSQL this waits for a driver creating a trial right now,
        # and the trials read next include it (the driver creates none once this commits).
        ctx.session.flush()
        running = ctx.session.exec(
            select(TrialRow).where(
                TrialRow.experiment_id == row.experiment_id, col(TrialRow.state).in_(ACTIVE)
            )
        ).all()
        for trial in running:
            trial.state, trial.reason = "KILLED", "ExperimentStopped"
            trial.message = f"stopped: the experiment was stopped ({reason})"
            trial.finished_at = utcnow()
            ctx.session.add(trial)
            ctx.publish(
                CancelTrainingJob(job_id=trial.job_id, reason=trial.message), key=trial.name
            )
            ctx.publish(
                TrialKilled(
                    experiment_id=row.experiment_id, trial_id=trial.name, reason=trial.message
                ),
                key=trial.name,
            )
        ctx.publish(ExperimentStopped(experiment_id=row.experiment_id, reason=reason))
        self._wake_after_commit(row.experiment_id)  # tells the study what ended

    # the trainer's events about trial jobs ---------------------------------------------

    def _trial(self, ctx: HandlerContext[Any], job_id: str) -> TrialRow | None:
        if not job_id:
            return None
        return ctx.session.exec(select(TrialRow).where(TrialRow.job_id == job_id)).first()

    async def job_running(self, event: TrainingJobRunning, ctx: HandlerContext[Any]) -> None:
        trial = self._trial(ctx, event.job_id)
        if trial is None or trial.state != "CREATED":
            return
        trial.state = "RUNNING"
        ctx.session.add(trial)
        ctx.publish(TrialStarted(experiment_id=trial.experiment_id, trial_id=trial.name))

    async def metric(self, event: MetricReported, ctx: HandlerContext[Any]) -> None:
        trial = self._trial(ctx, event.job_id)
        if trial is None or trial.state not in ("CREATED", "RUNNING"):
            return
        trial.observed = observe(trial.observed, event.metric, event.value, event.step)
        experiment = experiment_by_id(ctx.session, trial.experiment_id)
        if experiment is None:
            return
        if event.metric == experiment.objective_metric and event.step is not None:
            trial.intermediate = {**trial.intermediate, str(event.step): event.value}
            self._wake_after_commit(trial.experiment_id)
        if trial.job_done_at is not None:  # the job's end was handled first
            self._settle(trial, parse_experiment(experiment.spec), ctx, final=False)
            if trial.state not in ACTIVE:
                self._wake_after_commit(trial.experiment_id)  # its slot is free now
        ctx.session.add(trial)

    async def job_succeeded(self, event: TrainingJobSucceeded, ctx: HandlerContext[Any]) -> None:
        trial = self._trial(ctx, event.job_id)
        if trial is None or trial.state not in ("CREATED", "RUNNING"):
            return
        experiment = experiment_by_id(ctx.session, trial.experiment_id)
        if experiment is None:
            return
        trial.job_done_at = utcnow()
        self._settle(trial, parse_experiment(experiment.spec), ctx, final=False)
        ctx.session.add(trial)
        self._wake_after_commit(trial.experiment_id)

    @staticmethod
    def _settle(
        trial: TrialRow, spec: ExperimentSpec, ctx: HandlerContext[Any], *, final: bool
    ) -> None:
        outcome = settle(spec, trial.observed, final=final)
        if outcome is None:
            return  # an objective metric may still be on its way: the driver decides later
        for event in apply_outcome(trial, outcome):
            ctx.publish(event)

    async def job_failed(self, event: TrainingJobFailed, ctx: HandlerContext[Any]) -> None:
        trial = self._trial(ctx, event.job_id)
        if trial is None or trial.state not in ("CREATED", "RUNNING"):
            return
        experiment = experiment_by_id(ctx.session, trial.experiment_id)
        if experiment is not None:
            spec = parse_experiment(experiment.spec)
            trial.metrics = reduce_metrics(spec.objective, trial.observed)
        tail = event.log_tail.strip().splitlines()[-3:]
        trial.state, trial.reason = "FAILED", "TrialFailed"
        trial.message = event.reason + (f" (last output: {' | '.join(tail)})" if tail else "")
        trial.finished_at = utcnow()
        ctx.session.add(trial)
        ctx.publish(
            TrialFailed(
                experiment_id=trial.experiment_id, trial_id=trial.name, reason=trial.message
            )
        )
        self._wake_after_commit(trial.experiment_id)

    async def job_cancelled(self, event: TrainingJobCancelled, ctx: HandlerContext[Any]) -> None:
        trial = self._trial(ctx, event.job_id)
        if trial is None or trial.state not in ("CREATED", "RUNNING"):
            return  # stopped by the tuner itself: already Killed or EarlyStopped
        trial.state, trial.reason = "KILLED", "TrialKilled"
        trial.message = f"its job was cancelled: {event.reason or 'by a user'}"
        trial.finished_at = utcnow()
        ctx.session.add(trial)
        ctx.publish(
            TrialKilled(
                experiment_id=trial.experiment_id, trial_id=trial.name, reason=trial.message
            )
        )
        self._wake_after_commit(trial.experiment_id)

    # queries ---------------------------------------------------------------------------

    async def get(self, query: GetExperiment) -> ExperimentDetail:
        return await asyncio.to_thread(self._get, query)

    def _get(self, query: GetExperiment) -> ExperimentDetail:
        with self._session() as session:
            row = _named(session, query.namespace, query.name)
            if row is None:
                return ExperimentDetail()
            if not query.trials:
                return ExperimentDetail(experiment=_summary(session, row, spec=True))
            trials = trials_page(session, row.experiment_id, -1, TRIALS_IN_ONE_REPLY + 1)
            if len(trials) > TRIALS_IN_ONE_REPLY:
                return ExperimentDetail(
                    error=f"experiment {query.namespace}/{query.name} has more than "
                    f"{TRIALS_IN_ONE_REPLY} trials, too many for one reply: ask for it without "
                    "its trials and page them with ListTrials (`headrace experiment trials` "
                    "does)"
                )
            return ExperimentDetail(experiment=experiment_view(row, trials, with_trials=True))

    async def trials(self, query: ListTrials) -> TrialList:
        return await asyncio.to_thread(self._trials, query)

    def _trials(self, query: ListTrials) -> TrialList:
        with self._session() as session:
            row = _named(session, query.namespace, query.name)
            if row is None:
                return TrialList(
                    error=f"no experiment {query.name!r} in namespace {query.namespace!r}"
                )
            page = trials_page(session, row.experiment_id, query.after, query.limit + 1)
            return TrialList(
                trials=[trial_view(t) for t in page[: query.limit]],
                more=len(page) > query.limit,
            )

    async def list(self, query: ListExperiments) -> ExperimentList:
        return await asyncio.to_thread(self._list, query)

    def _list(self, query: ListExperiments) -> ExperimentList:
        with self._session() as session:
            select_rows = select(ExperimentRow)
            if query.namespace:
                select_rows = select_rows.where(ExperimentRow.namespace == query.namespace)
            rows = session.exec(
                select_rows.order_by(ExperimentRow.created_at.desc()).limit(query.limit)  # type: ignore[attr-defined]
            ).all()
            return ExperimentList(experiments=[_summary(session, row) for row in rows])


def _named(session: Session, namespace: str, name: str) -> ExperimentRow | None:
    return session.exec(
        select(ExperimentRow).where(
            ExperimentRow.namespace == namespace, ExperimentRow.name == name
        )
    ).first()


def _summary(session: Session, row: ExperimentRow, *, spec: bool = False) -> ExperimentView:
    """The experiment without its trials, by aggregate queries (its cost does not grow with
    the number of trials, except a multi-objective front's), with its spec when ``spec``."""
    multi = len(row.objectives) > 1
    best = None
    if not multi:
        best = best_of(session, row.experiment_id, row.objective_type == "maximize")
    succeeded = succeeded_of(session, row.experiment_id) if multi else []
    counts = state_counts(session, row.experiment_id)
    return summary_view(row, counts, best, succeeded, spec=spec)


def _describe(row: ExperimentRow, spec: ExperimentSpec) -> None:
    row.algorithm = spec.algorithm.name
    row.objective_type = spec.objective.type
    row.objective_metric = spec.objective.metric
    row.objectives = [[name, direction] for name, direction in spec.objective.objectives]
    row.goal = spec.objective.goal
    row.parallel_trial_count = spec.parallel_trial_count
    row.max_trial_count = spec.max_trial_count
    row.max_failed_trial_count = spec.max_failed_trial_count
