"""The tuner's driver: for each experiment, tells Optuna what finished, ends the experiment
when Katib would (stopping the trials still running), stops trials the pruner gives up on,
and starts one trial per free slot — asking the study for exactly one suggestion each time.

Handlers only record what happened (in their transaction) and wake the driver; the driver's
work is idempotent and runs again at start and every few seconds, so a tuner killed at any
point resumes each experiment where its tables and its study say it is. Each state change is
written with its events (outbox) in one transaction, then published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from headrace_contracts import (
    CancelTrainingJob,
    ExperimentFailed,
    ExperimentSucceeded,
    Message,
    SubmitTrainingJob,
    TrialCreated,
    TrialEarlyStopped,
    TrialKilled,
    derive_event_id,
)
from headrace_contracts.kubeflow import ExperimentSpec, ManifestError, parse_experiment
from headrace_runtime import OutboxRelay, outbox_row

from .errors import SearchError
from .experiments.outcomes import apply_outcome
from .experiments.store import (
    ExperimentRow,
    TrialRow,
    experiment_by_id,
    facts_of,
    recorded_numbers,
    tally_of,
    utcnow,
)
from .given_up import COMMAND_FAILED
from .search import assignments
from .search.study import Search, Studies
from .trials import (
    ACTIVE,
    FINISHED,
    Ending,
    best_trial,
    decide_end,
    free_slots,
    pareto_front,
)
from .trials.manifest import trial_manifest
from .trials.metrics import reduce_metrics
from .trials.outcome import settle
from .trials.policy import trial_name

__all__ = ["Driver"]

log = logging.getLogger("headrace.tuner")

SETTLE_SECONDS = 3.0
"""How long after its job succeeded a trial may still get an objective metric (handled by
another replica) before it fails MetricsUnavailable."""

_TOLD_STATES = {
    "SUCCEEDED": TrialState.COMPLETE,
    "FAILED": TrialState.FAIL,
    "KILLED": TrialState.FAIL,
    "EARLY_STOPPED": TrialState.PRUNED,
}


class Driver:
    def __init__(
        self,
        engine: Engine,
        studies: Studies,
        relay: OutboxRelay,
        source: str,
        *,
        interval: float = 2.0,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.engine = engine
        self.studies = studies
        self.relay = relay
        self.source = source
        self.interval = interval
        self.settle_seconds = settle_seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # scheduling ------------------------------------------------------------------------

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="tuner-sweep")

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self, experiment_id: str) -> None:
        if experiment_id in self._tasks:
            self._again.add(experiment_id)
            return
        task = asyncio.create_task(self._run(experiment_id), name=f"tuner {experiment_id}")
        self._tasks[experiment_id] = task

    async def _run(self, experiment_id: str) -> None:
        try:
            while True:
                self._again.discard(experiment_id)
                try:
                    await asyncio.to_thread(self.drive, experiment_id)
                except Exception as error:
                    log.exception("experiment %s: driving failed; trying again", experiment_id)
                    await asyncio.to_thread(self._show_trouble, experiment_id, error)
                if experiment_id not in self._again:
                    return
        finally:
            self._tasks.pop(experiment_id, None)

    async def _sweep(self) -> None:
        while True:
            try:
                self.studies.suspect()  # another replica may have left a suggestion unrecorded
                for experiment_id in await asyncio.to_thread(self._to_drive):
                    self.wake(experiment_id)
            except Exception:
                log.exception("tuner sweep failed; retrying")
            await asyncio.sleep(self.interval)

    def _show_trouble(self, experiment_id: str, error: Exception) -> None:
        """Put what keeps the experiment from going on in its message (``experiment get``
        shows it), until a pass succeeds."""
        text = f"the tuner cannot go on with it ({type(error).__name__}: {error}); it retries"
        with contextlib.suppress(Exception), Session(self.engine) as session:
            session.exec(
                update(ExperimentRow)
                .where(
                    col(ExperimentRow.experiment_id) == experiment_id,
                    col(ExperimentRow.state) == "RUNNING",
                )
                .values(message=text[:2000])
            )
            session.commit()

    def _to_drive(self) -> list[str]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(ExperimentRow.experiment_id).where(
                    (col(ExperimentRow.state) == "RUNNING") | (col(ExperimentRow.request) != "")
                )
            ).all()
            untold = session.exec(
                select(TrialRow.experiment_id).where(
                    col(TrialRow.told).is_(False), col(TrialRow.state).in_(FINISHED)
                )
            ).all()
            return sorted({*rows, *untold})

    # one pass over one experiment (blocking) -------------------------------------------

    def drive(self, experiment_id: str) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = experiment_by_id(session, experiment_id)
        if row is None:
            return
        if row.request == "delete":
            self._delete(row)
            return
        try:
            spec = parse_experiment(row.spec)
            search = self.studies.search(experiment_id, spec)
        except (ManifestError, SearchError) as error:  # refused at create; kept for safety
            if row.state == "RUNNING":
                self._end(row, Ending("FAILED", "InvalidExperiment", str(error)))
            return
        if row.state == "RUNNING" and row.message and row.reason not in COMMAND_FAILED:
            self._clear_trouble(row)  # a failed stop or delete stays shown (`given_up`)
        self._settle_overdue(row, spec)
        self._prune(row, search, spec)
        self._tell(row, search)
        if row.state != "RUNNING":
            self.studies.abandon(search, lambda n: self._recorded(row.experiment_id, n))
            return
        with Session(self.engine, expire_on_commit=False) as session:
            trials = tally_of(session, experiment_id, spec)
        ending = decide_end(spec, trials, search.plan.limit)
        if ending is not None:
            self._end(row, ending, spec)
            self._tell(row, search)
            self.studies.abandon(search, lambda n: self._recorded(row.experiment_id, n))
            return
        for _ in range(free_slots(spec, trials, search.plan.limit)):
            if not self._start_trial(row, spec, search):
                return  # another tuner changed the experiment meanwhile: drive again later
            row.seq += 1

    def _settle_overdue(self, row: ExperimentRow, spec: ExperimentSpec) -> None:
        """Fail the trials whose job succeeded ``settle_seconds`` ago without reporting an
        objective metric (one on its way would have arrived by now)."""
        cutoff = utcnow() - timedelta(seconds=self.settle_seconds)
        with Session(self.engine) as session:
            waiting = session.exec(
                select(TrialRow).where(
                    TrialRow.experiment_id == row.experiment_id,
                    col(TrialRow.state).in_(ACTIVE),
                    col(TrialRow.job_done_at).is_not(None),
                )
            ).all()
            events: list[Message] = []
            for trial in waiting:
                done_at = trial.job_done_at
                if done_at is None or _aware(done_at) > cutoff:
                    continue  # the sweep comes back to it
                outcome = settle(spec, trial.observed, final=True)
                if outcome is not None:
                    events.extend(apply_outcome(trial, outcome))
                    session.add(trial)
            ids = self._outbox(session, row.uid, f"settled-{row.seq}-{len(events)}", events)
            session.commit()
        self._publish(ids)

    def _clear_trouble(self, row: ExperimentRow) -> None:
        with Session(self.engine) as session:
            session.exec(
                update(ExperimentRow)
                .where(
                    col(ExperimentRow.experiment_id) == row.experiment_id,
                    col(ExperimentRow.state) == "RUNNING",
                )
                .values(message="")
            )
            session.commit()

    def _recorded(self, experiment_id: str, numbers: list[int]) -> set[int]:
        with Session(self.engine) as session:
            return recorded_numbers(session, experiment_id, numbers)

    def _start_trial(self, row: ExperimentRow, spec: ExperimentSpec, search: Search) -> bool:
        """Ask for a trial and record it with its job; False when the slot was taken."""
        number, params = self.studies.suggest(
            search, lambda numbers: self._recorded(row.experiment_id, numbers)
        )
        try:
            recorded = self._record_trial(row, spec, number, params)
        except BaseException:
            self.studies.suspect(search)  # what it asked for may be unrecorded
            raise
        if not recorded:
            self.studies.suspect(search)  # another tuner took the slot: it is unrecorded
        return recorded

    def _record_trial(
        self, row: ExperimentRow, spec: ExperimentSpec, number: int, params: dict[str, Any]
    ) -> bool:
        values = assignments(spec, params)
        name = trial_name(row.name, row.uid, number)
        job_id = f"{row.namespace}/{name}"
        manifest = trial_manifest(spec, name, row.namespace, values)
        events: list[Message] = [
            SubmitTrainingJob(
                job_id=job_id,
                kind=str(manifest["kind"]),
                manifest=manifest,
                namespace=row.namespace,
                run_id=row.run_id,
                step_id=row.step_id,
                trial_id=name,
                working_dir=row.working_dir,
            ),
            TrialCreated(experiment_id=row.experiment_id, trial_id=name, parameters=dict(values)),
        ]
        with Session(self.engine) as session:
            claimed = session.exec(
                update(ExperimentRow)
                .where(
                    col(ExperimentRow.experiment_id) == row.experiment_id,
                    col(ExperimentRow.seq) == row.seq,
                    col(ExperimentRow.state) == "RUNNING",
                    col(ExperimentRow.request) == "",
                )
                .values(seq=row.seq + 1)
            )
            if claimed.rowcount != 1:
                session.rollback()
                return False
            session.add(
                TrialRow(
                    experiment_id=row.experiment_id,
                    number=number,
                    name=name,
                    job_id=job_id,
                    parameters=values,
                )
            )
            ids = self._outbox(session, row.uid, name, events)
            session.commit()
        self._publish(ids)
        log.info("experiment %s: trial %s started with %s", row.experiment_id, name, values)
        return True

    def _tell(self, row: ExperimentRow, search: Search) -> None:
        with Session(self.engine) as session:
            untold = session.exec(
                select(TrialRow).where(
                    TrialRow.experiment_id == row.experiment_id,
                    col(TrialRow.told).is_(False),
                    col(TrialRow.state).in_(FINISHED),
                )
            ).all()
            for trial in untold:
                state = _TOLD_STATES[trial.state]
                values = list(trial.objective_values)
                if trial.objective_value is not None and not values:
                    values = [trial.objective_value]
                if state == TrialState.COMPLETE and len(values) != len(search.plan.directions):
                    state = TrialState.FAIL
                self.studies.tell(search, trial.number, state, values or None)
                trial.told = True
                session.add(trial)
            session.commit()

    def _prune(self, row: ExperimentRow, search: Search, spec: ExperimentSpec) -> None:
        """Give the study every new intermediate objective value (before a finished trial is
        told, so the median counts it); stop the running trials the pruner gives up on."""
        if search.plan.pruner.__class__.__name__ == "NopPruner":
            return
        with Session(self.engine, expire_on_commit=False) as session:
            trials = session.exec(
                select(TrialRow).where(
                    TrialRow.experiment_id == row.experiment_id, col(TrialRow.told).is_(False)
                )
            ).all()
        for trial in trials:
            steps = sorted(int(s) for s in trial.intermediate if int(s) > trial.reported_step)
            if not steps or trial.state == "CREATED":
                continue
            for step in steps:
                self.studies.record(search, trial.number, step, trial.intermediate[str(step)])
            running = trial.state == "RUNNING" and row.state == "RUNNING"
            prune = running and self.studies.should_prune(search, trial.number)
            self._pruned(row, trial, steps[-1], prune, spec, search)

    def _pruned(
        self,
        row: ExperimentRow,
        trial: TrialRow,
        step: int,
        prune: bool,
        spec: ExperimentSpec,
        search: Search,
    ) -> None:
        with Session(self.engine) as session:
            current = session.get(TrialRow, trial.id)
            if current is None:
                return
            current.reported_step = max(current.reported_step, step)
            events: list[Message] = []
            if prune and current.state in ACTIVE:
                reason = _pruned_because(search, step)
                current.metrics = reduce_metrics(spec.objective, current.observed)
                current.state, current.reason, current.message = (
                    "EARLY_STOPPED",
                    "EarlyStopped",
                    reason,
                )
                current.finished_at = utcnow()
                events = [
                    CancelTrainingJob(job_id=current.job_id, reason=f"early stopped: {reason}"),
                    TrialEarlyStopped(
                        experiment_id=row.experiment_id, trial_id=current.name, reason=reason
                    ),
                ]
            session.add(current)
            ids = self._outbox(session, row.uid, f"{current.name}-pruned", events)
            session.commit()
        self._publish(ids)

    def _end(self, row: ExperimentRow, ending: Ending, spec: ExperimentSpec | None = None) -> None:
        events: list[Message] = []
        with Session(self.engine) as session:
            current = experiment_by_id(session, row.experiment_id)
            if current is None or current.state != "RUNNING":
                return
            active = session.exec(
                select(TrialRow).where(
                    TrialRow.experiment_id == row.experiment_id, col(TrialRow.state).in_(ACTIVE)
                )
            ).all()
            current.state, current.reason, current.message = (
                ending.state,
                ending.reason,
                ending.message,
            )
            current.finished_at = utcnow()
            session.add(current)
            for live in active:
                live.state, live.reason = "KILLED", "ExperimentEnded"
                live.message = f"stopped: the experiment ended ({ending.reason})"
                live.finished_at = utcnow()
                session.add(live)
                events.append(CancelTrainingJob(job_id=live.job_id, reason=live.message))
                events.append(
                    TrialKilled(
                        experiment_id=row.experiment_id, trial_id=live.name, reason=live.message
                    )
                )
            if ending.state == "SUCCEEDED" and spec is not None:
                done = session.exec(
                    select(TrialRow).where(
                        TrialRow.experiment_id == row.experiment_id, TrialRow.state == "SUCCEEDED"
                    )
                ).all()
                facts = [facts_of(t) for t in done]
                directions = [d for _, d in spec.objective.objectives]
                front = pareto_front(directions, facts) if spec.objective.multi else []
                best = best_trial(spec, facts)
                chosen = next((t for t in done if best and t.name == best.name), None)
                events.append(
                    ExperimentSucceeded(
                        experiment_id=row.experiment_id,
                        best_trial_id=chosen.name if chosen else "",
                        best_parameters=dict(chosen.parameters) if chosen else {},
                        objective_metric=spec.objective.metric,
                        objective_value=chosen.objective_value if chosen else None,
                        condition=ending.reason,
                        pareto_front=[t.name for t in front],
                    )
                )
            else:
                events.append(
                    ExperimentFailed(
                        experiment_id=row.experiment_id,
                        reason=ending.message,
                        condition=ending.reason,
                    )
                )
            ids = self._outbox(session, row.uid, "end", events)
            session.commit()
        self._publish(ids)
        log.info("experiment %s %s: %s", row.experiment_id, ending.state.lower(), ending.message)

    def _delete(self, row: ExperimentRow) -> None:
        with Session(self.engine) as session:
            active = session.exec(  # the jobs of ended trials have ended already
                select(TrialRow.job_id).where(
                    col(TrialRow.experiment_id) == row.experiment_id,
                    col(TrialRow.state).in_(ACTIVE),
                )
            ).all()
            events: list[Message] = [
                CancelTrainingJob(job_id=job_id, reason="experiment deleted") for job_id in active
            ]
            ids = self._outbox(session, row.uid, "delete", events)
            deleted = session.exec(
                delete(TrialRow).where(col(TrialRow.experiment_id) == row.experiment_id)
            )
            session.exec(
                delete(ExperimentRow).where(col(ExperimentRow.experiment_id) == row.experiment_id)
            )
            session.commit()
        self.studies.forget(row.experiment_id)
        self._publish(ids)
        log.info("experiment %s deleted with its %d trials", row.experiment_id, deleted.rowcount)

    # outbox ----------------------------------------------------------------------------

    def _outbox(self, session: Session, uid: str, key: str, events: Sequence[Message]) -> list[str]:
        ids = []
        for position, message in enumerate(events):
            event_id = derive_event_id(uid, "tuner", message.ce_type(), key, str(position))
            session.add(outbox_row(message, source=self.source, event_id=event_id))
            ids.append(event_id)
        return ids

    def _publish(self, ids: list[str]) -> None:
        if not ids:
            return
        loop = self._loop
        if loop is None:
            return  # the outbox sweep sends them
        future = asyncio.run_coroutine_threadsafe(self.relay.publish(ids), loop)
        with contextlib.suppress(Exception):  # the outbox sweep sends what fails now
            future.result(timeout=30)

    _loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _pruned_because(search: Search, step: int) -> str:
    if isinstance(search.plan.pruner, optuna.pruners.HyperbandPruner):
        return (
            f"Hyperband stopped it at step {step}: its objective was not among the best of its "
            "bracket's trials at that step"
        )
    return (
        f"the objective at step {step} is worse than the median of the finished trials at that step"
    )
