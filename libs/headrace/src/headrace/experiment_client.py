"""The client's experiment calls (mixed into :class:`headrace.Client`).

::

    with Client() as client:
        client.apply("examples/tuning/random-quadratic.yaml")
        done = client.wait_experiment("random-quadratic", timeout=600)
        print(done.best_trial.parameters, done.best_trial.objective_value)

``apply`` (see `headrace.job_client`) checks each Katib Experiment here first, then sends
``CreateExperiment`` with the file's folder as the folder its trials run in, and waits until
the tuner has recorded it. Questions are request/reply queries to the tuner.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from headrace_bus import Bus
from headrace_contracts import (
    CreateExperiment,
    DeleteExperiment,
    ExperimentDetail,
    ExperimentFailed,
    ExperimentList,
    ExperimentStarted,
    ExperimentView,
    GetExperiment,
    ListExperiments,
    ListTrials,
    Message,
    Query,
    StopExperiment,
    TrialList,
    TrialView,
)
from headrace_contracts.kubeflow import ExperimentSpec
from headrace_contracts.tuning_views import TRIALS_IN_ONE_REPLY

from .experiment_errors import (
    ExperimentError,
    ExperimentExistsError,
    ExperimentNotFound,
    ExperimentTimeout,
)
from .recorded import recorded_after_answer, until_recorded

__all__ = ["FINAL_EXPERIMENT_STATES", "AppliedExperiment", "ExperimentCalls"]

T = TypeVar("T")
FINAL_EXPERIMENT_STATES = ("SUCCEEDED", "FAILED", "STOPPED")


class AppliedExperiment:
    """One applied experiment: its view, and whether it was ``created`` or ``unchanged``."""

    def __init__(self, experiment: ExperimentView, spec: ExperimentSpec, created: bool) -> None:
        self.experiment = experiment
        self.spec = spec
        self.created = created

    @property
    def resource(self) -> str:
        return f"experiment.kubeflow.org/{self.spec.name}"


class ExperimentCalls:
    """Experiment calls of :class:`headrace.Client`; they need its loop and bus."""

    submit_timeout: float

    if TYPE_CHECKING:
        timeout: float

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _publish(self, message: Message) -> None: ...
        async def _ask(self, query: Query, who: str = ...) -> Any: ...
        async def _connected(self) -> Bus: ...

    def apply_experiments(
        self,
        experiments: list[tuple[dict[str, Any], ExperimentSpec]],
        folder: str,
        *,
        run_id: str = "",
        step_id: str = "",
    ) -> list[AppliedExperiment]:
        """Create each experiment (documents as `headrace.job_client.read_documents` gives
        them); one whose name exists with the same document is left as it is, one with
        another is refused (`ExperimentExistsError`) before anything is sent."""
        known = []
        for document, spec in experiments:
            found = self._find_experiment(spec.name, spec.namespace)
            if found is not None and found.spec != document:
                raise ExperimentExistsError(spec.name, spec.namespace, found.state)
            known.append((document, spec, found))
        applied = []
        for document, spec, found in known:
            if found is not None:
                applied.append(AppliedExperiment(found, spec, created=False))
                continue
            command = CreateExperiment(
                experiment_id=f"{spec.namespace}/{spec.name}",
                spec=document,
                working_dir=folder,
                run_id=run_id,
                step_id=step_id,
            )
            applied.append(AppliedExperiment(self._created(command, spec), spec, created=True))
        return applied

    def delete_experiment(self, name: str, *, namespace: str = "default") -> ExperimentView:
        """Stop the experiment's running trials (their jobs are deleted) and remove it;
        returns the experiment as it was, once the tuner has removed it."""
        found = self.get_experiment(name, namespace=namespace)
        self._call(self._publish(DeleteExperiment(experiment_id=found.experiment_id)))
        deadline = time.monotonic() + self.submit_timeout
        while (now := self._find_experiment(name, namespace)) is not None:
            _raise_if_refused(now, found, "DeleteFailed", "deleted")
            if time.monotonic() > deadline:
                raise ExperimentError(
                    f"experiment {name!r} was asked to be deleted, but the tuner did not do "
                    f"it within {self.submit_timeout:g}s: look again with "
                    f"`headrace experiment get {name}`"
                )
            time.sleep(0.1)
        return found

    def stop_experiment(
        self, name: str, *, namespace: str = "default", reason: str = "stopped by user"
    ) -> ExperimentView:
        """End a running experiment now: no new trials, the running ones are killed; it stays
        STOPPED with its trials and best trial. Returns it once the tuner has stopped it;
        `ExperimentError` if it has already ended."""
        found = self.get_experiment(name, namespace=namespace)
        if found.state != "RUNNING":
            raise ExperimentError(
                f"experiment {name!r} has already ended ({found.state}): there is nothing to "
                f"stop; remove it with `headrace experiment delete {name}`"
            )
        command = StopExperiment(experiment_id=found.experiment_id, reason=reason)
        self._call(self._publish(command))
        until_recorded(
            lambda: _ended(
                _raise_if_refused(
                    self.get_experiment(name, namespace=namespace, trials=False),
                    found,
                    "StopFailed",
                    "stopped",
                )
            ),
            self.submit_timeout,
            lambda: ExperimentError(
                f"experiment {name!r} was asked to stop, but the tuner did not stop it within "
                f"{self.submit_timeout:g}s: look again with `headrace experiment get {name}`"
            ),
        )
        return self.get_experiment(name, namespace=namespace)

    def get_experiment(
        self, name: str, *, namespace: str = "default", trials: bool = True
    ) -> ExperimentView:
        """The experiment with its spec, its best trial and every trial (``trials`` False:
        only the counts, without the trials); `ExperimentNotFound` if none. The trials are
        read a page at a time, so an experiment of any length is answered."""
        found = self._find_experiment(name, namespace)
        if found is None:
            raise ExperimentNotFound(name, namespace)
        if not trials:
            return found
        return found.model_copy(
            update={"trials": self.experiment_trials(name, namespace=namespace)}
        )

    def list_experiments(
        self, *, namespace: str = "default", limit: int = 100
    ) -> list[ExperimentView]:
        """Experiments of ``namespace`` (every namespace: ``""``), newest first."""
        reply = self._call(
            self._ask(ListExperiments(namespace=namespace, limit=limit), who="the tuner")
        )
        assert isinstance(reply, ExperimentList)
        if reply.error:
            raise ExperimentError(reply.error)
        return list(reply.experiments)

    def experiment_trials(
        self, name: str, *, namespace: str = "default", page_size: int = TRIALS_IN_ONE_REPLY
    ) -> list[TrialView]:
        """The experiment's trials, in the order they were suggested, read ``page_size`` at
        a time (`ExperimentNotFound` if there is no such experiment)."""
        trials: list[TrialView] = []
        while True:
            after = trials[-1].number if trials else -1
            query = ListTrials(name=name, namespace=namespace, after=after, limit=page_size)
            reply = self._call(self._ask(query, who="the tuner"))
            assert isinstance(reply, TrialList)
            if reply.error:
                if not trials and self._find_experiment(name, namespace) is None:
                    raise ExperimentNotFound(name, namespace)
                raise ExperimentError(reply.error)
            trials += reply.trials
            if not reply.more or not reply.trials:
                return trials

    def wait_experiment(
        self, name: str, *, namespace: str = "default", timeout: float | None = None
    ) -> ExperimentView:
        """Until the experiment has ended (SUCCEEDED, FAILED or STOPPED), polling; returns it
        with every trial. The polls ask for the experiment without its trials, so waiting on
        a long experiment costs the tuner little."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self.get_experiment(name, namespace=namespace, trials=False)
            if found.state in FINAL_EXPERIMENT_STATES:
                return self.get_experiment(name, namespace=namespace)
            if deadline is not None and time.monotonic() > deadline:
                raise ExperimentTimeout(name, found.state, timeout or 0.0)
            time.sleep(0.2)

    def _find_experiment(self, name: str, namespace: str) -> ExperimentView | None:
        """The experiment with its spec, without its trials; None if there is none."""
        query = GetExperiment(name=name, namespace=namespace, trials=False)
        reply = self._call(self._ask(query, who="the tuner"))
        assert isinstance(reply, ExperimentDetail)
        if reply.error:
            raise ExperimentError(reply.error)
        return reply.experiment

    def _created(self, command: CreateExperiment, spec: ExperimentSpec) -> ExperimentView:
        """Send ``command``, wait for the tuner's answer (``ExperimentStarted``, or
        ``ExperimentFailed`` for an experiment it cannot run), and read what it recorded."""
        return recorded_after_answer(
            self,
            command,
            (ExperimentStarted, ExperimentFailed),
            field="experiment_id",
            find=lambda: self._find_experiment(spec.name, spec.namespace),
            refused=lambda: ExperimentError(
                f"experiment {spec.name!r} was sent, but the tuner did not record it within "
                f"{self.submit_timeout:g}s: it may be busy; look for it later with "
                f"`headrace experiment get {spec.name}`"
            ),
        )


def _raise_if_refused(
    now: ExperimentView, before: ExperimentView, reason: str, done: str
) -> ExperimentView:
    """``now``, unless the tuner has recorded since ``before`` that it gave up on the command
    (reason ``StopFailed`` / ``DeleteFailed``): then `ExperimentError` with its message."""
    if now.reason == reason and (now.reason, now.message) != (before.reason, before.message):
        raise ExperimentError(f"experiment {now.name!r} was not {done}: {now.message}")
    return now


def _ended(found: ExperimentView) -> ExperimentView | None:
    return found if found.state in FINAL_EXPERIMENT_STATES else None
