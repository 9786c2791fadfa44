"""KServe wire model -> :class:`InferenceServiceSpec`: the checks KServe's webhook makes (and
what Headrace serves), with KServe's defaults."""

from __future__ import annotations

import re

from ._convert import Collector
from ._kserve import API_VERSION, KIND, InferenceServiceWire
from .inference import (
    LOGGER_MODES,
    MODEL_FORMATS,
    PROTOCOL_VERSIONS,
    SCALE_METRICS,
    BatcherSpec,
    InferenceServiceSpec,
    LoggerSpec,
    StorageRef,
)

_MODEL_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_ALIAS = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_BY_ALIAS = re.compile(rf"^models:/(?P<name>{_MODEL_NAME})@(?P<alias>{_ALIAS})$")
_BY_VERSION = re.compile(rf"^models:/(?P<name>{_MODEL_NAME})/(?P<version>[1-9][0-9]*)$")
_STORAGE_FORMS = "a path, file://PATH, s3://BUCKET/KEY, models:/NAME@ALIAS or models:/NAME/VERSION"


def parse_storage_uri(uri: str) -> StorageRef:
    """``storageUri`` -> :class:`StorageRef`; ValueError saying which forms are served."""
    text = uri.strip()
    if not text:
        raise ValueError(f"is empty: give {_STORAGE_FORMS}")
    if text.startswith("models:/"):
        if match := _BY_ALIAS.match(text):
            return StorageRef(uri=text, scheme="models", model=match["name"], alias=match["alias"])
        if match := _BY_VERSION.match(text):
            return StorageRef(
                uri=text, scheme="models", model=match["name"], version=int(match["version"])
            )
        raise ValueError(
            f"{uri!r} is not a model URI: write models:/NAME@ALIAS (e.g. "
            "models:/iris@production) or models:/NAME/VERSION (e.g. models:/iris/3)"
        )
    if text.startswith("s3://"):
        bucket, _, key = text.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise ValueError(f"{uri!r} names no object: write s3://BUCKET/KEY")
        return StorageRef(uri=text, scheme="s3")
    if text.startswith("file://"):
        if not text.removeprefix("file://"):
            raise ValueError(f"{uri!r} names no file: write file:///absolute/path")
        return StorageRef(uri=text, scheme="file")
    if "://" in text or text.startswith(("gs:", "pvc:", "hf:", "oci:")):
        scheme = text.split(":", 1)[0]
        raise ValueError(
            f"storage scheme {scheme!r} is not served by Headrace: give {_STORAGE_FORMS}"
        )
    return StorageRef(uri=text, scheme="path")


def inference_service(wire: InferenceServiceWire, found: Collector) -> InferenceServiceSpec | None:
    if wire.api_version != API_VERSION:
        found.add("apiVersion", f"{wire.api_version!r} is not {API_VERSION!r}: use {API_VERSION}")
    if wire.kind != KIND:
        found.add("kind", f"{wire.kind!r} is not {KIND!r} (apiVersion {API_VERSION})")
    predictor = wire.spec.predictor
    base = "spec.predictor"
    model = predictor.model
    if model is None:
        found.add(
            f"{base}.model",
            "is required: give model.modelFormat.name and model.storageUri (the older "
            "per-framework predictor fields such as 'sklearn:' are not served)",
        )
        return None
    where = f"{base}.model"
    model_format = ""
    if model.model_format is None:
        found.add(f"{where}.modelFormat", f"is required: name one of {', '.join(MODEL_FORMATS)}")
    elif model.model_format.name not in MODEL_FORMATS:
        found.add(
            f"{where}.modelFormat.name",
            f"unknown model format {model.model_format.name!r}: Headrace's model server loads "
            + ", ".join(MODEL_FORMATS),
        )
    else:
        model_format = model.model_format.name
    storage: StorageRef | None = None
    if model.storage_uri is None:
        found.add(
            f"{where}.storageUri",
            f"is required: give the model's location ({_STORAGE_FORMS})",
        )
    else:
        try:
            storage = parse_storage_uri(model.storage_uri)
        except ValueError as error:
            found.add(f"{where}.storageUri", str(error))
    protocol = model.protocol_version or "v1"
    if protocol not in PROTOCOL_VERSIONS:
        found.add(
            f"{where}.protocolVersion",
            f"{protocol!r} is not served: use v1 (KServe's default) or v2 (Open Inference "
            "Protocol)",
        )
    low = _replicas(predictor.min_replicas, 1, f"{base}.minReplicas", 0, found)
    high = _replicas(predictor.max_replicas, max(low, 1), f"{base}.maxReplicas", 1, found)
    if predictor.max_replicas is not None and low > high:
        found.add(
            f"{base}.maxReplicas",
            f"{high} is below minReplicas {low}: give maxReplicas at least minReplicas",
        )
    metric = predictor.scale_metric or "concurrency"
    if metric not in SCALE_METRICS:
        found.add(
            f"{base}.scaleMetric",
            f"{metric!r} is not supported: Headrace scales on "
            f"{', '.join(SCALE_METRICS)} (requests in flight per replica)",
        )
    target = predictor.scale_target if predictor.scale_target is not None else 1
    if target < 1:
        found.add(f"{base}.scaleTarget", f"must be at least 1 (got {target})")
    percent = predictor.canary_traffic_percent
    if percent is not None and not 0 <= percent <= 100:
        found.add(
            f"{base}.canaryTrafficPercent",
            f"{percent} is outside 0-100: give the percentage of requests the new revision "
            "receives (0 rolls back, 100 promotes)",
        )
    concurrency = predictor.container_concurrency or 0
    if concurrency < 0:
        found.add(
            f"{base}.containerConcurrency", f"must be 0 (unlimited) or more (got {concurrency})"
        )
    batcher = _batcher(wire, found)
    logger = None
    if predictor.logger is not None:
        if predictor.logger.mode not in LOGGER_MODES:
            found.add(
                f"{base}.logger.mode",
                f"{predictor.logger.mode!r} is not a logger mode: use {', '.join(LOGGER_MODES)}",
            )
        else:
            logger = LoggerSpec.model_validate(predictor.logger.model_dump())
    if found.problems or storage is None:
        return None
    return InferenceServiceSpec(
        api_version=wire.api_version,
        kind=wire.kind,
        name=wire.metadata.name,
        namespace=wire.metadata.namespace or "default",
        labels=dict(wire.metadata.labels),
        annotations=dict(wire.metadata.annotations),
        model_format=model_format,
        model_format_version=model.model_format.version if model.model_format else None,
        storage=storage,
        protocol_version="v2" if protocol == "v2" else "v1",
        min_replicas=low,
        max_replicas=high,
        scale_target=target,
        canary_traffic_percent=percent,
        container_concurrency=concurrency,
        batcher=batcher,
        logger=logger,
        requests=dict(model.resources.requests),
        limits=dict(model.resources.limits),
    )


def _replicas(given: int | None, default: int, path: str, least: int, found: Collector) -> int:
    if given is None or (least == 1 and given == 0):  # KServe: maxReplicas 0 means unset
        return default
    if given < least:
        found.add(path, f"must be at least {least} (got {given})")
        return default
    return given


def _batcher(wire: InferenceServiceWire, found: Collector) -> BatcherSpec | None:
    given = wire.spec.predictor.batcher
    if given is None:
        return None
    base = "spec.predictor.batcher"
    spec = BatcherSpec()
    size = given.max_batch_size if given.max_batch_size is not None else spec.max_batch_size
    latency = given.max_latency if given.max_latency is not None else spec.max_latency_ms
    if size < 1:
        found.add(f"{base}.maxBatchSize", f"must be at least 1 (got {size})")
    if latency < 1:
        found.add(f"{base}.maxLatency", f"must be at least 1 millisecond (got {latency})")
    return BatcherSpec(max_batch_size=max(size, 1), max_latency_ms=max(latency, 1))
