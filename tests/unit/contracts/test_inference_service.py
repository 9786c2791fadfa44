"""KServe ``InferenceService`` YAML -> :class:`InferenceServiceSpec`: defaults, every storage
form, and each bad input refused with its path and the fix."""

from __future__ import annotations

import pytest

from headrace_contracts.kubeflow import (
    MODEL_FORMATS,
    InferenceServiceSpec,
    ManifestError,
    load_inference_services,
    parse_inference_service,
)
from headrace_modelserver import FORMATS


def document(**predictor: object) -> dict[str, object]:
    model = {"modelFormat": {"name": "sklearn"}, "storageUri": "file:///models/iris"}
    model.update(predictor.pop("model", {}))  # type: ignore[arg-type]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "iris"},
        "spec": {"predictor": {"model": model, **predictor}},
    }


def problems(doc: object) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        parse_inference_service(doc)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_the_known_formats_are_the_model_servers() -> None:
    assert set(MODEL_FORMATS) == set(FORMATS)


def test_defaults_are_kserves() -> None:
    spec = parse_inference_service(document())
    assert isinstance(spec, InferenceServiceSpec)
    assert (spec.name, spec.namespace, spec.model_format) == ("iris", "default", "sklearn")
    assert (spec.protocol_version, spec.min_replicas, spec.max_replicas) == ("v1", 1, 1)
    assert (spec.scale_metric, spec.scale_target, spec.canary_traffic_percent) == (
        "concurrency",
        1,
        None,
    )
    assert spec.batcher is None
    assert spec.logger is None
    assert spec.storage.scheme == "file"


def test_every_field_is_read() -> None:
    spec = parse_inference_service(
        document(
            minReplicas=0,
            maxReplicas=4,
            scaleTarget=8,
            scaleMetric="concurrency",
            canaryTrafficPercent=20,
            containerConcurrency=16,
            batcher={"maxBatchSize": 8, "maxLatency": 50},
            logger={"mode": "request", "url": "http://collector"},
            model={
                "protocolVersion": "v2",
                "modelFormat": {"name": "onnx", "version": "1"},
                "storageUri": "s3://models/iris/model.onnx",
                "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "1Gi"}},
            },
        )
    )
    assert (spec.min_replicas, spec.max_replicas, spec.scale_target) == (0, 4, 8)
    assert (spec.canary_traffic_percent, spec.container_concurrency) == (20, 16)
    assert spec.batcher is not None
    assert (
        spec.batcher.max_batch_size,
        spec.batcher.max_latency_ms,
    ) == (8, 50)
    assert spec.logger is not None
    assert (spec.logger.mode, spec.logger.url) == (
        "request",
        "http://collector",
    )
    assert (spec.protocol_version, spec.model_format, spec.model_format_version) == (
        "v2",
        "onnx",
        "1",
    )
    assert (spec.requests, spec.limits) == ({"cpu": "500m"}, {"memory": "1Gi"})
    assert spec.storage.scheme == "s3"


@pytest.mark.parametrize(
    ("uri", "scheme", "model", "alias", "version"),
    [
        ("models:/iris@production", "models", "iris", "production", None),
        ("models:/iris/3", "models", "iris", "", 3),
        ("/srv/models/iris.joblib", "path", "", "", None),
        ("file:///srv/iris", "file", "", "", None),
        ("s3://bucket/iris/model.joblib", "s3", "", "", None),
    ],
)
def test_storage_forms(uri: str, scheme: str, model: str, alias: str, version: int | None) -> None:
    storage = parse_inference_service(document(model={"storageUri": uri})).storage
    assert (storage.uri, storage.scheme, storage.model, storage.alias, storage.version) == (
        uri,
        scheme,
        model,
        alias,
        version,
    )


@pytest.mark.parametrize("percent", [-1, 101, 250])
def test_a_canary_percent_outside_0_100_is_refused(percent: int) -> None:
    (found,) = problems(document(canaryTrafficPercent=percent))
    assert found.startswith("spec.predictor.canaryTrafficPercent: ")
    assert f"{percent} is outside 0-100" in found


def test_an_unknown_model_format_names_the_known_ones() -> None:
    (found,) = problems(document(model={"modelFormat": {"name": "tensorflow"}}))
    assert found.startswith(
        "spec.predictor.model.modelFormat.name: unknown model format 'tensorflow'"
    )
    assert "sklearn, xgboost, lightgbm, onnx, pytorch, custom" in found


def test_a_missing_storage_uri_is_refused() -> None:
    doc = document()
    del doc["spec"]["predictor"]["model"]["storageUri"]  # type: ignore[index]
    (found,) = problems(doc)
    assert found.startswith("spec.predictor.model.storageUri: is required")
    assert "models:/NAME@ALIAS" in found


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("models:/iris", "is not a model URI"),
        ("models:/iris@Prod", "is not a model URI"),
        ("gs://bucket/iris", "storage scheme 'gs' is not served"),
        ("s3://bucket", "names no object"),
    ],
)
def test_a_bad_storage_uri_says_which_forms_are_served(uri: str, says: str) -> None:
    (found,) = problems(document(model={"storageUri": uri}))
    assert found.startswith("spec.predictor.model.storageUri: ")
    assert says in found


def test_min_above_max_is_refused() -> None:
    (found,) = problems(document(minReplicas=3, maxReplicas=2))
    assert found == (
        "spec.predictor.maxReplicas: 2 is below minReplicas 3: "
        "give maxReplicas at least minReplicas"
    )


def test_a_bad_name_is_refused() -> None:
    doc = document()
    doc["metadata"] = {"name": "Iris_Classifier"}
    (found,) = problems(doc)
    assert found.startswith("metadata.name: ")
    assert "DNS-1035" in found


@pytest.mark.parametrize(
    ("api_version", "kind", "path"),
    [
        ("serving.kserve.io/v1alpha1", "InferenceService", "apiVersion"),
        ("serving.kserve.io/v1beta1", "Predictor", "kind"),
    ],
)
def test_a_wrong_api_version_or_kind_is_refused(api_version: str, kind: str, path: str) -> None:
    doc = document()
    doc["apiVersion"], doc["kind"] = api_version, kind
    (found,) = problems(doc)
    assert found.startswith(f"{path}: ")
    assert "serving.kserve.io/v1beta1" in found


def test_other_scale_metrics_are_refused_naming_concurrency() -> None:
    (found,) = problems(document(scaleMetric="cpu"))
    assert found.startswith("spec.predictor.scaleMetric: 'cpu' is not supported")
    assert "concurrency" in found


def test_bad_protocol_logger_and_batcher() -> None:
    found = problems(
        document(
            logger={"mode": "everything"},
            batcher={"maxBatchSize": 0},
            model={"protocolVersion": "grpc-v2"},
        )
    )
    assert [line.split(":")[0] for line in found] == [
        "spec.predictor.model.protocolVersion",
        "spec.predictor.batcher.maxBatchSize",
        "spec.predictor.logger.mode",
    ]


def test_unsupported_fields_name_the_fix_and_every_problem_is_listed() -> None:
    text = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: a}
spec:
  predictor:
    sklearn: {storageUri: /m}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: b}
spec:
  predictor:
    canaryTrafficPercent: 120
    model: {modelFormat: {name: sklearn}, storageUri: /m}
"""
    with pytest.raises(ManifestError) as caught:
        load_inference_services(text)
    found = [str(p) for p in caught.value.problems]
    assert len(found) == 2
    assert found[0].startswith(
        "document 0, spec.predictor.sklearn: field 'sklearn' is not supported"
    )
    assert "docs/serving.md" in found[0]
    assert found[1].startswith("document 1, spec.predictor.canaryTrafficPercent")
