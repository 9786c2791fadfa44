"""What the tuner answers about experiments and trials (areas ``experiment``): request/reply.

``GetExperiment`` gives one experiment with every trial (parameters, metrics, state, reason)
and its best trial; ``ListExperiments`` the experiments of a namespace, newest first.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Query, Reply
from .common import Value

EXPERIMENT_STATES = ("RUNNING", "SUCCEEDED", "FAILED", "STOPPED")
TRIAL_STATES = ("CREATED", "RUNNING", "SUCCEEDED", "FAILED", "KILLED", "EARLY_STOPPED")


class TrialView(Value):
    name: str = Field(description="the trial's name, also its training job's name")
    number: int = Field(description="0, 1, 2, ... in the order trials were suggested")
    state: str = Field(description="one of TRIAL_STATES")
    parameters: dict[str, str] = Field(default_factory=dict, description="as the job got them")
    metrics: dict[str, float] = Field(
        default_factory=dict, description="each metric reduced by its strategy (min/max/latest)"
    )
    objective_value: float | None = None
    objective_values: list[float] = Field(
        default_factory=list, description="every objective's value, in the objectives' order"
    )
    reason: str = Field(default="", description="Katib's reason: MetricsUnavailable, ...")
    message: str = Field(default="", description="what went wrong, for a failed trial")
    job_id: str = ""
    created_at: str = ""
    finished_at: str = ""


class ExperimentView(Value):
    experiment_id: str
    name: str
    namespace: str = "default"
    state: str = Field(default="RUNNING", description="one of EXPERIMENT_STATES")
    reason: str = Field(default="", description="Katib's condition reason")
    message: str = ""
    algorithm: str = ""
    objective_type: str = ""
    objective_metric: str = ""
    goal: float | None = None
    parallel_trial_count: int = 0
    max_trial_count: int | None = None
    max_failed_trial_count: int | None = None
    trials_created: int = 0
    trials_running: int = 0
    trials_succeeded: int = 0
    trials_failed: int = 0
    trials_killed: int = 0
    trials_early_stopped: int = 0
    objectives: list[str] = Field(
        default_factory=list, description="'metric:direction' of every objective, in order"
    )
    best_trial: TrialView | None = Field(default=None, description="single objective only")
    pareto_front: list[TrialView] = Field(
        default_factory=list, description="multi-objective: the trials no other one dominates"
    )
    trials: list[TrialView] = Field(default_factory=list, description="GetExperiment only")
    created_at: str = ""
    finished_at: str = ""
    spec: dict[str, Any] = Field(default_factory=dict, description="GetExperiment only")


class ExperimentDetail(Reply):
    experiment: ExperimentView | None = Field(default=None, description="None when no such one")
    error: str = ""


class GetExperiment(Query):
    """One experiment by name, with every trial (``trials`` False: without them)."""

    AREA = "experiment"
    NAME = "get"
    REPLY = ExperimentDetail

    name: str
    namespace: str = "default"
    trials: bool = Field(
        default=True,
        description="False: the counts and the best trial (or Pareto front) without the "
        "trials and the spec, answered from aggregate queries however many trials there are",
    )


class ExperimentList(Reply):
    experiments: list[ExperimentView] = Field(default_factory=list, description="no trials")
    error: str = ""


class ListExperiments(Query):
    """The experiments of ``namespace`` ('' for every namespace), newest first."""

    AREA = "experiment"
    NAME = "list"
    REPLY = ExperimentList

    namespace: str = "default"
    limit: int = Field(default=100, ge=1, le=1000)
