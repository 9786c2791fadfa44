"""Wire model of Katib's ``kubeflow.org/v1beta1`` ``Experiment`` (unknown fields refused)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ._wire import ObjectMeta, Wire

API_VERSION = "kubeflow.org/v1beta1"


def _text(value: Any) -> Any:
    # Katib writes numbers as strings ("0.01"); YAML users often write them bare.
    if isinstance(value, bool):
        return value
    return str(value) if isinstance(value, int | float) else value


class MetricStrategyWire(Wire):
    name: str = Field(min_length=1)
    value: Literal["min", "max", "latest"]


class ObjectiveTermWire(Wire):
    name: str = Field(min_length=1)
    type: Literal["minimize", "maximize"]


class ObjectiveWire(Wire):
    type: Literal["minimize", "maximize"]
    goal: float | None = None
    objective_metric_name: str = Field(min_length=1)
    additional_metric_names: list[str] = Field(default_factory=list)
    metric_strategies: list[MetricStrategyWire] = Field(default_factory=list)
    # Headrace, beyond Katib: more objectives, searched together (multi-objective)
    additional_objectives: list[ObjectiveTermWire] = Field(default_factory=list)


class SettingWire(Wire):
    name: str = Field(min_length=1)
    value: str = ""

    _value = field_validator("value", mode="before")(_text)


class AlgorithmWire(Wire):
    algorithm_name: str = Field(min_length=1)
    algorithm_settings: list[SettingWire] = Field(default_factory=list)


class FeasibleSpaceWire(Wire):
    min: str | None = None
    max: str | None = None
    step: str | None = None
    items: list[str] | None = Field(default=None, alias="list")
    distribution: Literal["uniform", "logUniform", "normal", "logNormal"] | None = None

    _numbers = field_validator("min", "max", "step", mode="before")(_text)

    @field_validator("items", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        return [_text(item) for item in value] if isinstance(value, list) else value


class ParameterWire(Wire):
    name: str = Field(min_length=1)
    parameter_type: Literal["int", "double", "categorical", "discrete"]
    feasible_space: FeasibleSpaceWire


class FileSystemPathWire(Wire):
    path: str = Field(min_length=1)
    kind: Literal["File"] = "File"
    format: Literal["TEXT", "JSON"] = "TEXT"


class FilterWire(Wire):
    metrics_format: list[str] = Field(default_factory=list)


class SourceWire(Wire):
    file_system_path: FileSystemPathWire | None = None
    filter: FilterWire | None = None


class CollectorWire(Wire):
    kind: str = "StdOut"


class MetricsCollectorWire(Wire):
    collector: CollectorWire = Field(default_factory=CollectorWire)
    source: SourceWire | None = None


class TrialParameterWire(Wire):
    name: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    description: str = ""


class TrialTemplateWire(Wire):
    trial_spec: dict[str, Any]
    trial_parameters: list[TrialParameterWire] = Field(default_factory=list)
    primary_container_name: str = ""
    primary_pod_labels: dict[str, str] = Field(default_factory=dict)  # no-op locally
    success_condition: str = ""  # Headrace reads the training job's own conditions
    failure_condition: str = ""
    retain: bool = False


class EarlyStoppingWire(Wire):
    algorithm_name: str = Field(min_length=1)
    algorithm_settings: list[SettingWire] = Field(default_factory=list)


class ExperimentSpecWire(Wire):
    objective: ObjectiveWire
    algorithm: AlgorithmWire
    parameters: list[ParameterWire] = Field(min_length=1)
    parallel_trial_count: int = Field(default=3, ge=1)
    max_trial_count: int | None = Field(default=None, ge=1)
    max_failed_trial_count: int | None = Field(default=None, ge=0)
    resume_policy: Literal["Never", "LongRunning", "FromVolume"] = "Never"
    early_stopping: EarlyStoppingWire | None = None
    metrics_collector_spec: MetricsCollectorWire = Field(default_factory=MetricsCollectorWire)
    trial_template: TrialTemplateWire


class ExperimentWire(Wire):
    api_version: Literal["kubeflow.org/v1beta1"]
    kind: Literal["Experiment"]
    metadata: ObjectMeta
    spec: ExperimentSpecWire
