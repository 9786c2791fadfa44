"""A span per request carrying the caller's trace context, and request/error/latency metrics
per model and version (the ASGI app in process, its model loaded from a local file)."""

from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sklearn.linear_model import LogisticRegression

from headrace_modelserver import ServerSettings, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_span_per_request_and_metrics(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((20, 2))
    joblib.dump(LogisticRegression().fit(x, x[:, 0] > 0.5), tmp_path / "m.joblib")
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    app = create_app(
        ServerSettings(model_name="m", storage_uri=str(tmp_path / "m.joblib"), model_version="3"),
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    body = {"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1, 0]}]}
    with TestClient(app) as client:
        assert app.state.host.loaded.wait(timeout=60)
        ok = client.post(
            "/v2/models/m/infer", json=body, headers={"traceparent": f"00-{TRACE}-{PARENT}-01"}
        )
        bad = client.post("/v2/models/m/infer", content=b"nope")
    assert ok.status_code == 200
    assert bad.status_code == 400
    infer = [s for s in spans.get_finished_spans() if s.name == "POST /v2/models/{name}/infer"]
    assert len(infer) == 2
    assert format(infer[0].context.trace_id, "032x") == TRACE
    assert infer[0].parent is not None
    assert format(infer[0].parent.span_id, "016x") == PARENT
    assert infer[0].attributes is not None
    assert infer[0].attributes["model.name"] == "m"
    assert infer[0].attributes["http.response.status_code"] == 200

    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: list(metric.data.data_points)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    infer_requests = [
        p
        for p in points["headrace.modelserver.requests"]
        if p.attributes["http.route"] == "/v2/models/{name}/infer"
    ]
    assert sorted((p.attributes["http.response.status_code"], p.value) for p in infer_requests) == [
        (200, 1),
        (400, 1),
    ]
    assert all(p.attributes["model.version"] == "3" for p in infer_requests)
    assert [p.value for p in points["headrace.modelserver.errors"]] == [1]
    assert sum(p.count for p in points["headrace.modelserver.request.duration"]) >= 2


def test_spans_only_when_they_go_somewhere() -> None:
    from opentelemetry.trace import NoOpTracerProvider

    from headrace_modelserver.telemetry import default_tracer_provider

    assert isinstance(default_tracer_provider({}), NoOpTracerProvider)
    exported = default_tracer_provider({"HEADRACE_TRACE_CONSOLE": "1"})
    assert not isinstance(exported, NoOpTracerProvider)
