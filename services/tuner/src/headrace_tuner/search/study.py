"""The experiment's Optuna study, kept in the tuner's own database (Optuna's RDB storage on
the tuner's SQLAlchemy URL; on PostgreSQL in the tuner's schema), so the optimizer's state
survives any restart. Blocking: call through a thread.

Asking is the one step that cannot share a transaction with the tuner's tables: a trial
Optuna handed out but the tuner never recorded (a crash in between, or another replica
winning the slot) stays RUNNING in the study. :meth:`Studies.suggest` hands such an orphan
out again before asking anew, so no suggestion is lost or made twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from headrace_contracts.kubeflow import ExperimentSpec
from headrace_runtime import schema_for

from .plan import SearchPlan, plan_search

__all__ = ["Studies", "open_storage"]

log = logging.getLogger("headrace.tuner.study")


def open_storage(url: str, service: str, *, attempts: int = 20) -> RDBStorage:
    """Optuna's storage on the service's database (its tables beside the tuner's).

    Replicas starting together race to create Optuna's tables; the loser tries again once
    the winner has made them."""
    for attempt in range(attempts):
        try:
            return _open(url, service)
        except SQLAlchemyError as error:
            if attempt == attempts - 1:
                raise
            log.info("Optuna's tables are being made by another replica (%s); again", error)
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def _open(url: str, service: str) -> RDBStorage:
    backend = make_url(url).get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs = {"connect_args": {"timeout": 30}}
    elif backend == "postgresql":
        kwargs = {
            "pool_pre_ping": True,
            "connect_args": {"options": f"-csearch_path={schema_for(service)}"},
        }
    storage = RDBStorage(url, engine_kwargs=kwargs)
    if backend == "sqlite":
        event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()  # the connections made so far go without them
    return storage


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """As the tuner's own connections to the same file: write-ahead log, and no sync at each
    commit (what is committed survives the tuner's ``kill -9``, not the machine's crash; it
    saves Optuna's commits — a few per trial — a disk flush each)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass
class Search:
    spec: ExperimentSpec
    plan: SearchPlan
    study: optuna.Study
    orphans_possible: bool = True
    """Whether the study may hold a suggestion never recorded: when it is loaded (a crash may
    have left one), after this tuner lost a slot it had asked for or failed to record it
    (`Studies.suspect`), and at each sweep (another replica's). Otherwise `Studies.suggest`
    skips reading the study's running trials."""


class Studies:
    """One loaded study per experiment (its sampler keeps its own state between asks)."""

    def __init__(self, storage: RDBStorage) -> None:
        self.storage = storage
        self._open: dict[str, Search] = {}

    def search(self, experiment_id: str, spec: ExperimentSpec) -> Search:
        found = self._open.get(experiment_id)
        if found is None:
            try:
                study_id = self.storage.get_study_id_from_name(experiment_id)
                resumed_at = self.storage.get_n_trials(study_id)
            except KeyError:
                resumed_at = 0
            plan = plan_search(spec, resumed_at=resumed_at)
            study = optuna.create_study(
                storage=self.storage,
                study_name=experiment_id,
                sampler=plan.sampler,
                pruner=plan.pruner,
                directions=[d for d in plan.directions],  # type: ignore[misc]
                load_if_exists=True,
            )
            found = self._open[experiment_id] = Search(spec, plan, study)
        return found

    def suggest(
        self, search: Search, recorded: Callable[[list[int]], Collection[int]]
    ) -> tuple[int, dict[str, Any]]:
        """A trial to start: an orphan (a RUNNING trial of the study whose number
        ``recorded`` does not return), else a new ask. Call `suspect` when what it gave
        was not recorded."""
        if search.orphans_possible:
            running = search.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            known = recorded([t.number for t in running])
            for trial in running:
                if trial.number not in known and set(trial.params) == set(
                    search.plan.distributions
                ):
                    log.info(
                        "study %s: trial %d handed out again",
                        search.study.study_name,
                        trial.number,
                    )
                    return trial.number, dict(trial.params)
            search.orphans_possible = False
        asked = search.study.ask(search.plan.distributions)
        return asked.number, dict(asked.params)

    def suspect(self, search: Search | None = None) -> None:
        """The next `suggest` looks for suggestions never recorded first (of ``search``, or
        of every open study)."""
        for found in [search] if search is not None else list(self._open.values()):
            found.orphans_possible = True

    def abandon(self, search: Search, recorded: Callable[[list[int]], Collection[int]]) -> int:
        """Fail the study's RUNNING trials the tuner never recorded (an ended experiment's
        suggestions that two replicas raced for); returns how many."""
        running = search.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        known = recorded([t.number for t in running])
        orphans = [t for t in running if t.number not in known]
        for trial in orphans:
            search.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        return len(orphans)

    def tell(
        self, search: Search, number: int, state: TrialState, values: list[float] | None
    ) -> None:
        """Record a finished trial once (a second call finds it finished and does nothing)."""
        study = search.study
        if state == TrialState.COMPLETE:
            study.tell(number, values, skip_if_finished=True)
        else:
            study.tell(number, state=state, skip_if_finished=True)

    def record(self, search: Search, number: int, step: int, value: float) -> None:
        """An intermediate objective value of a trial not yet told (kept once per step)."""
        study = search.study
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        if self.storage.get_trial(trial_id).state.is_finished():
            return
        self.storage.set_trial_intermediate_value(trial_id, step, value)

    def should_prune(self, search: Search, number: int) -> bool:
        """Whether the pruner stops the running trial, given its values so far."""
        study = search.study
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        return optuna.trial.Trial(study, trial_id).should_prune()

    def forget(self, experiment_id: str) -> None:
        self._open.pop(experiment_id, None)
        with contextlib.suppress(KeyError):  # never created
            optuna.delete_study(study_name=experiment_id, storage=self.storage)
