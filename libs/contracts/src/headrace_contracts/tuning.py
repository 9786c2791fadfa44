"""Hyperparameter tuning: Katib experiments and their trials (areas ``experiment``, ``trial``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event
from .common import JsonValue


class CreateExperiment(Command):
    """Start an experiment; ``spec`` is a Katib Experiment (kubeflow.org/v1beta1) as JSON.

    ``experiment_id`` is ``<namespace>/<name>`` (what ``headrace apply`` sends). An experiment
    of that namespace and name with the same spec is the same experiment (nothing happens)."""

    AREA = "experiment"
    NAME = "create"

    experiment_id: str
    spec: dict[str, Any]
    run_id: str = ""
    step_id: str = ""
    working_dir: str = Field(
        default="", description="the folder trials run in when their container names none"
    )


class DeleteExperiment(Command):
    """Stop every running trial of an experiment (their jobs are deleted) and forget it."""

    AREA = "experiment"
    NAME = "delete"

    experiment_id: str


class ExperimentStarted(Event):
    AREA = "experiment"
    NAME = "started"

    experiment_id: str
    max_trial_count: int = 0
    parallel_trial_count: int = 1


class ExperimentSucceeded(Event):
    AREA = "experiment"
    NAME = "succeeded"

    experiment_id: str
    best_trial_id: str = ""
    best_parameters: dict[str, JsonValue] = Field(default_factory=dict)
    objective_metric: str = ""
    objective_value: float | None = None
    condition: str = Field(
        default="",
        description="Katib's reason: ExperimentGoalReached, ExperimentMaxTrialsReached or "
        "ExperimentSuggestionEndReached",
    )
    pareto_front: list[str] = Field(
        default_factory=list, description="multi-objective: the non-dominated trials"
    )


class ExperimentFailed(Event):
    AREA = "experiment"
    NAME = "failed"

    experiment_id: str
    reason: str
    condition: str = Field(
        default="",
        description="Katib's reason, e.g. ExperimentMaxFailedTrialsReached, InvalidExperiment",
    )


class StopExperiment(Command):
    AREA = "experiment"
    NAME = "stop"

    experiment_id: str
    reason: str = "stopped by user"


class ExperimentStopped(Event):
    AREA = "experiment"
    NAME = "stopped"

    experiment_id: str
    reason: str = ""


class TrialCreated(Event):
    AREA = "trial"
    NAME = "created"

    experiment_id: str
    trial_id: str
    parameters: dict[str, JsonValue]


class TrialStarted(Event):
    AREA = "trial"
    NAME = "started"

    experiment_id: str
    trial_id: str


class TrialSucceeded(Event):
    AREA = "trial"
    NAME = "succeeded"

    experiment_id: str
    trial_id: str
    objective_value: float
    metrics: dict[str, float] = Field(default_factory=dict)


class TrialFailed(Event):
    AREA = "trial"
    NAME = "failed"

    experiment_id: str
    trial_id: str
    reason: str


class TrialKilled(Event):
    """The trial's job was stopped because its experiment ended (or was deleted)."""

    AREA = "trial"
    NAME = "killed"

    experiment_id: str
    trial_id: str
    reason: str = ""


class TrialEarlyStopped(Event):
    AREA = "trial"
    NAME = "early_stopped"

    experiment_id: str
    trial_id: str
    reason: str = ""
