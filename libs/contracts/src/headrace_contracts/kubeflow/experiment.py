"""The internal model a Katib ``Experiment`` (``kubeflow.org/v1beta1``) becomes.

The tuner, the CLI and the search layer read only these frozen models, never the YAML:
the objective with a metric strategy for every metric, the algorithm and its settings (names
checked against :data:`ALGORITHMS`), the parameters' feasible spaces, the trial budget, early
stopping, the metrics collector and the trial template (a training-job manifest with
``${trialParameters.NAME}`` placeholders, see :func:`render_trial`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ObjectiveType = Literal["minimize", "maximize"]
MetricStrategy = Literal["min", "max", "latest"]
ParameterType = Literal["int", "double", "categorical", "discrete"]
Distribution = Literal["uniform", "logUniform", "normal", "logNormal"]
ResumePolicy = Literal["Never", "LongRunning", "FromVolume"]
CollectorKind = Literal["StdOut", "File", "Push"]
TrialKind = Literal["Job", "PyTorchJob", "TFJob", "TrainJob"]

DEFAULT_METRICS_FORMAT = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
"""Katib's default StdOut filter: ``name=value`` anywhere in a line."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectiveTerm(_Frozen):
    """One more objective of a multi-objective experiment (Headrace, beyond Katib)."""

    name: str
    type: ObjectiveType


class Objective(_Frozen):
    type: ObjectiveType
    metric: str = Field(description="objectiveMetricName")
    goal: float | None = None
    additional_metrics: tuple[str, ...] = ()
    strategies: dict[str, MetricStrategy] = Field(
        default_factory=dict, description="every metric -> how its reported values reduce"
    )
    additional_objectives: tuple[ObjectiveTerm, ...] = ()

    @property
    def objectives(self) -> tuple[tuple[str, ObjectiveType], ...]:
        """Every objective (metric, direction): the objective metric first."""
        return ((self.metric, self.type), *((o.name, o.type) for o in self.additional_objectives))

    @property
    def multi(self) -> bool:
        return bool(self.additional_objectives)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The objectives first, then the additional metrics."""
        return (*(name for name, _ in self.objectives), *self.additional_metrics)

    def reached(self, value: float) -> bool:
        """Whether ``value`` of the objective metric meets the goal."""
        if self.goal is None or self.multi:
            return False
        return value <= self.goal if self.type == "minimize" else value >= self.goal


class AlgorithmSpec(_Frozen):
    name: str
    settings: dict[str, str] = Field(default_factory=dict)


class ParameterSpec(_Frozen):
    """One search dimension. ``int``/``double``: ``min``..``max`` (both included) with an
    optional ``step``; ``categorical``: strings; ``discrete``: numbers."""

    name: str
    type: ParameterType
    min: float | None = None
    max: float | None = None
    step: float | None = None
    values: tuple[str, ...] = Field(default=(), description="categorical/discrete list")
    distribution: Distribution = "uniform"

    def sample_value(self) -> str:
        """A value of the space as text (checks the trial template renders)."""
        if self.values:
            return self.values[0]
        assert self.min is not None
        return format_value(self, self.min)


def format_value(parameter: ParameterSpec, value: Any) -> str:
    """How a value of ``parameter`` is written into a trial's manifest."""
    if parameter.type == "int":
        return str(int(value))
    if parameter.type == "double":
        return repr(float(value))
    return str(value)


class EarlyStoppingSpec(_Frozen):
    name: Literal["medianstop"] = "medianstop"
    min_trials_required: int = Field(default=3, ge=1)
    start_step: int = Field(default=4, ge=1)


class MetricsCollectorSpec(_Frozen):
    kind: CollectorKind = "StdOut"
    metrics_format: tuple[str, ...] = Field(
        default=(), description="custom regexes (group 1 name, group 2 value); () = default"
    )
    path: str = Field(default="", description="File: the metrics file")
    file_format: Literal["TEXT", "JSON"] = "TEXT"


class TrialParameter(_Frozen):
    name: str
    reference: str = Field(description="a parameter name, or trialSpec meta (Name, ...)")
    description: str = ""


class TrialTemplate(_Frozen):
    kind: TrialKind
    api_version: str
    spec: dict[str, Any] = Field(description="the trialSpec, placeholders unreplaced")
    parameters: tuple[TrialParameter, ...] = ()
    primary_container_name: str = ""


class ExperimentSpec(_Frozen):
    """A Katib experiment, as the tuner runs it."""

    name: str
    namespace: str = "default"
    objective: Objective
    algorithm: AlgorithmSpec
    parameters: tuple[ParameterSpec, ...] = Field(min_length=1)
    parallel_trial_count: int = Field(default=3, ge=1)
    max_trial_count: int | None = Field(default=None, ge=1)
    max_failed_trial_count: int | None = Field(default=None, ge=0)
    resume_policy: ResumePolicy = "Never"
    early_stopping: EarlyStoppingSpec | None = None
    metrics_collector: MetricsCollectorSpec = Field(default_factory=MetricsCollectorSpec)
    trial_template: TrialTemplate
    labels: dict[str, str] = Field(default_factory=dict)

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)
