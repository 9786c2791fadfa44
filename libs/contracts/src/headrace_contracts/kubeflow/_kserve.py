"""Wire model of KServe's ``serving.kserve.io/v1beta1`` ``InferenceService`` (the predictor's
``model`` form; unknown fields refused with their path)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ._wire import ObjectMeta, ResourceRequirementsWire, Wire

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"


def _integer(value: Any) -> Any:
    # YAML users write `maxLatency: "500"` as often as `500`; KServe takes integers.
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


class ModelFormatWire(Wire):
    name: str = Field(min_length=1)
    version: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class ModelWire(Wire):
    model_format: ModelFormatWire | None = None
    storage_uri: str | None = None
    protocol_version: str | None = None
    resources: ResourceRequirementsWire = Field(default_factory=ResourceRequirementsWire)


class BatcherWire(Wire):
    max_batch_size: int | None = None
    max_latency: int | None = None

    _ints = field_validator("max_batch_size", "max_latency", mode="before")(_integer)


class LoggerWire(Wire):
    mode: str = "all"
    url: str = ""


class PredictorWire(Wire):
    model: ModelWire | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    scale_target: int | None = None
    scale_metric: str | None = None
    canary_traffic_percent: int | None = None
    container_concurrency: int | None = None
    batcher: BatcherWire | None = None
    logger: LoggerWire | None = None


class InferenceServiceSpecWire(Wire):
    predictor: PredictorWire


class InferenceServiceWire(Wire):
    api_version: str
    kind: str
    metadata: ObjectMeta
    spec: InferenceServiceSpecWire
