"""A KServe ``InferenceService`` as Headrace serves it (:class:`InferenceServiceSpec`), read by
``load_inference_services`` / ``parse_inference_service`` from ``serving.kserve.io/v1beta1``
YAML, with KServe's defaults (protocol ``v1``, one replica, scale on concurrency)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LOGGER_MODES",
    "MODEL_FORMATS",
    "PROTOCOL_VERSIONS",
    "SCALE_METRICS",
    "BatcherSpec",
    "InferenceServiceSpec",
    "LoggerSpec",
    "StorageRef",
]

MODEL_FORMATS: tuple[str, ...] = ("sklearn", "xgboost", "lightgbm", "onnx", "pytorch", "custom")
"""The ``modelFormat.name`` values the model server loads (``headrace_modelserver.FORMATS``)."""
PROTOCOL_VERSIONS: tuple[str, ...] = ("v1", "v2")
SCALE_METRICS: tuple[str, ...] = ("concurrency",)
LOGGER_MODES: tuple[str, ...] = ("all", "request", "response")

StorageScheme = Literal["path", "file", "s3", "models"]
LoggerMode = Literal["all", "request", "response"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StorageRef(_Frozen):
    """What ``storageUri`` names: a path, a ``file://`` or ``s3://`` URI, or a registered model
    (``models:/NAME@ALIAS``: ``model`` and ``alias``; ``models:/NAME/VERSION``: ``version``)."""

    uri: str
    scheme: StorageScheme
    model: str = ""
    alias: str = ""
    version: int | None = None


class BatcherSpec(_Frozen):
    """KServe's ``batcher``: requests gathered up to ``max_batch_size`` or ``max_latency_ms``."""

    max_batch_size: int = 32
    max_latency_ms: int = 500


class LoggerSpec(_Frozen):
    """KServe's ``logger``. Headrace publishes each logged body as a CloudEvent on the bus
    (``InferenceRequestLogged``/``InferenceResponseLogged``); ``url`` is kept but not posted to:
    subscribe to the bus instead (docs/serving.md)."""

    mode: LoggerMode = "all"
    url: str = ""


class InferenceServiceSpec(_Frozen):
    api_version: str = "serving.kserve.io/v1beta1"
    kind: str = "InferenceService"
    name: str
    namespace: str = "default"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    model_format: str
    model_format_version: str | None = None
    storage: StorageRef
    protocol_version: Literal["v1", "v2"] = "v1"
    min_replicas: int = 1
    max_replicas: int = 1
    scale_target: int = 1
    scale_metric: Literal["concurrency"] = "concurrency"
    canary_traffic_percent: int | None = None
    container_concurrency: int = 0
    batcher: BatcherSpec | None = None
    logger: LoggerSpec | None = None
    requests: dict[str, str] = Field(default_factory=dict)
    limits: dict[str, str] = Field(default_factory=dict)

    @property
    def storage_uri(self) -> str:
        return self.storage.uri

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
