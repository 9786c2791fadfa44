"""What the tuner answers about experiments and trials (areas ``experiment``): request/reply.

``GetExperiment`` gives one experiment with its best trial (and, up to a thousand, every
trial: parameters, metrics, state, reason); ``ListTrials`` pages through the trials however
many there are; ``ListExperiments`` the experiments of a namespace, newest first.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Query, Reply
from .common import Value

EXPERIMENT_STATES = ("RUNNING", "SUCCEEDED", "FAILED", "STOPPED")
TRIAL_STATES = ("CREATED", "RUNNING", "SUCCEEDED", "FAILED", "KILLED", "EARLY_STOPPED")
TRIALS_IN_ONE_REPLY = 1000
"""The most trials one reply carries: a thousand trial views stay well under the bus's
1 MB message limit; longer experiments are read a page at a time (``ListTrials``)."""


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
        description="False: the spec, the counts and the best trial (or Pareto front) without "
        "the trials, answered from aggregate queries however many trials there are. True "
        f"answers with every trial only up to {TRIALS_IN_ONE_REPLY}; past that it answers "
        "with an error: page the trials with ListTrials",
    )


class TrialList(Reply):
    trials: list[TrialView] = Field(default_factory=list, description="by number, ascending")
    more: bool = Field(default=False, description="trials after the last one given remain")
    error: str = Field(default="", description="no such experiment, or what else went wrong")


class ListTrials(Query):
    """A page of one experiment's trials, in the order they were suggested: those numbered
    above ``after``, at most ``limit``; the next page starts after the last number given."""

    AREA = "experiment"
    NAME = "trials"
    REPLY = TrialList

    name: str
    namespace: str = "default"
    after: int = Field(default=-1, ge=-1, description="the last trial number already seen")
    limit: int = Field(default=TRIALS_IN_ONE_REPLY, ge=1, le=TRIALS_IN_ONE_REPLY)


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
