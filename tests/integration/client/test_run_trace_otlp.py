"""A run's trace, as a collector receives it over OTLP: the scheduler, trainer, metadata and
serving services export through the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` setting to a
receiver in this process that parses the protobuf; the steps' own code exports its spans the
same way, from TRACEPARENT; so do the model servers. A real pipeline trains a model, registers
it (``headrace.register_model`` on its output) and promotes it; the InferenceService bound to
``models:/traced-iris@production`` rolls a revision to it; one inference request goes through
its router. One trace holds it all, each span's parent in it, up to one root: SubmitRun ->
each step -> its user code -> ArtifactWritten -> the registration -> PromoteModel ->
ModelPromoted -> the serving service's handling -> the new revision's load and its first
request (real nats-server, services, step processes and model-server processes)."""

# kfp reads the annotations: no `from __future__ import annotations`.

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from client_platform import Platform
from kfp import dsl

from headrace import Client
from headrace_metadata.app import build as build_metadata
from headrace_scheduler.app import build as build_scheduler
from headrace_serving.app import build as build_serving
from headrace_testing import wait_for
from headrace_testing.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

MODEL = "traced-iris"
TRAFFIC = "00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01"
"""The inference request's own trace context, as a caller's tracing would send it."""


@dsl.component
def train(model: dsl.Output[dsl.Model]) -> None:
    import os

    import joblib
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    provider = TracerProvider(resource=Resource.create({"service.name": "user-code"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    context = TraceContextTextMapPropagator().extract({"traceparent": os.environ["TRACEPARENT"]})
    with provider.get_tracer("component").start_as_current_span("fit", context=context):
        x, y = load_iris(return_X_y=True)
        os.makedirs(model.path, exist_ok=True)
        fitted = LogisticRegression(max_iter=500).fit(x, y)
        joblib.dump(fitted, os.path.join(model.path, "model.joblib"))
    provider.shutdown()
    model.metadata["headrace.register_model"] = "traced-iris"
    model.metadata["headrace.model_framework"] = "sklearn"


@dsl.component
def promote(model: dsl.Input[dsl.Model]) -> int:
    import os
    import time

    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from headrace import Client

    provider = TracerProvider(resource=Resource.create({"service.name": "user-code"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)  # the Client's publishes are spans of it too
    context = TraceContextTextMapPropagator().extract({"traceparent": os.environ["TRACEPARENT"]})
    run_id = os.environ["HEADRACE_RUN_ID"]
    tracer = trace.get_tracer("component")
    client = Client(nats_url=os.environ["HEADRACE_NATS_URL"])
    with client, tracer.start_as_current_span("decide", context=context):
        deadline = time.monotonic() + 60
        while True:  # registered by the metadata service once the artifact was written
            found = [v for v in client.list_model_versions("traced-iris") if v.run_id == run_id]
            if found:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} registered no version of traced-iris")
            time.sleep(0.1)
        # the Client carries this span: the promotion continues the run's trace
        client.promote_model("traced-iris", found[0].version, "production")
    provider.shutdown()
    return found[0].version


@dsl.pipeline(name="traced-serving")
def pipeline() -> int:  # type: ignore[no-untyped-def]
    trained = train()
    decided = promote(model=trained.outputs["model"])
    return decided.output


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """The receiver, named by the standard settings to every service and every process they
    start (steps and model servers inherit the environment)."""
    with otlp_receiver() as found:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", found.url)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # batches every 0.1 s, not 5 s
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "600000")
        yield found


@pytest.fixture
def platform(bare: Platform, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Platform:
    settings = bare.settings
    monkeypatch.setenv("HEADRACE_NATS_URL", settings.nats_url)  # as `headrace up` gives steps
    bare.start(build_scheduler(settings))
    bare.start(build_metadata(settings))
    bare.start(build_trainer(settings, trainer=TrainerSettings(concurrency=2)))
    bare.start(build_serving(settings))
    return bare


def served_model(path: Path) -> Path:
    """Version 1, registered and promoted before the run (another trace)."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).random((60, 4))
    path.mkdir(parents=True)
    fitted = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(np.int64))
    joblib.dump(fitted, path / "model.joblib")
    return path


ISVC = f"""
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {{name: traced}}
spec:
  predictor:
    model:
      modelFormat: {{name: sklearn}}
      protocolVersion: v2
      storageUri: models:/{MODEL}@production
"""


def one(spans: list[ReceivedSpan], name: str, **attributes: object) -> ReceivedSpan:
    found = [
        s
        for s in spans
        if s.name == name and all(s.attributes.get(k) == v for k, v in attributes.items())
    ]
    assert len(found) == 1, (name, attributes, sorted(s.name for s in spans))
    return found[0]


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    """The names of ``span``'s parents, nearest first, up to its trace's root; fails on a
    parent the trace does not hold."""
    names = []
    while span.parent_id:
        assert span.parent_id in by_id, f"{span.name}: parent {span.parent_id} not in the trace"
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def test_a_run_is_one_trace_from_submit_to_the_first_request_its_model_serves(
    platform: Platform, client: Client, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    first = served_model(tmp_path / "v1")
    client.register_model(MODEL, first.as_uri(), framework="sklearn")
    client.promote_model(MODEL, 1, "production")
    client.apply_inference_services(ISVC)
    url = client.wait_inference_service("traced", timeout=120).url

    run = client.wait(client.submit(pipeline, enable_caching=False), timeout=300)
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == 2

    def moved() -> bool:
        view = client.get_inference_service("traced")
        return [(t.revision, t.percent, t.ready) for t in view.traffic] == [
            ("traced-predictor-00002", 100, True)
        ]

    asyncio.run(wait_for(moved, 120, "traffic on the promoted version"))
    row = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [0.1, 0.2, 0.3, 0.4]}
    answer = httpx.post(
        f"{url}/v2/models/traced/infer",
        json={"inputs": [row]},
        headers={"traceparent": TRAFFIC},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == "2"

    submitted = receiver.wait_for(
        lambda got: any(
            s.name == "process headrace.run.submit" and s.service == "headrace-scheduler"
            for s in got
        ),
        "the scheduler's handling of SubmitRun",
    )
    trace_id = one(submitted, "process headrace.run.submit", **{
        "messaging.consumer.group.name": "scheduler"
    }).trace_id  # fmt: skip
    expected = {
        "fit", "decide", "run train", "run promote",
        "publish headrace.artifact.written", "publish headrace.model.version_registered",
        "process headrace.model.promote", "publish headrace.model.promoted",
        "load traced-predictor-00002", "first request traced-predictor-00002",
    }  # fmt: skip

    def complete(got: list[ReceivedSpan]) -> bool:
        """Every expected span came, and every parent of the trace's spans."""
        mine = [s for s in got if s.trace_id == trace_id]
        ids = {s.span_id for s in mine}
        return expected <= {s.name for s in mine} and all(
            not s.parent_id or s.parent_id in ids for s in mine
        )

    spans = [s for s in receiver.wait_for(complete, "the run's trace") if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if not s.parent_id]
    assert [(r.name, r.service) for r in roots] == [
        ("process headrace.run.submit", "headrace-scheduler")
    ]

    # each step's user code: the component's own span, under the trainer's `run` span
    for task, mine in (("train", "fit"), ("promote", "decide")):
        user = one(spans, mine)
        assert user.service == "user-code"
        assert ancestors(user, by_id)[:4] == [
            f"run {task}", f"execute {task}", "process headrace.step.ready",
            "publish headrace.step.ready",
        ]  # fmt: skip
        assert ancestors(user, by_id)[-1] == "process headrace.run.submit"

    # the model: written by the train step, registered by the metadata service
    written = one(spans, "publish headrace.artifact.written")
    assert written.service == "headrace-trainer"
    assert written.parent_id == by_id[one(spans, "execute train").parent_id].span_id
    registered = one(spans, "publish headrace.model.version_registered")
    assert ancestors(registered, by_id)[0] == "process headrace.artifact.written"
    assert by_id[registered.parent_id].parent_id == written.span_id

    # promoted from the promote step's code; the serving service rolls a revision to it
    promoted = one(spans, "publish headrace.model.promoted")
    assert ancestors(promoted, by_id)[:4] == [
        "process headrace.model.promote", "publish headrace.model.promote", "decide", "run promote",
    ]  # fmt: skip
    rolled = one(spans, "process headrace.model.promoted", **{
        "messaging.consumer.group.name": "serving"
    })  # fmt: skip
    assert rolled.parent_id == promoted.span_id
    assert rolled.attributes["messaging.system"] == "nats"
    assert rolled.attributes["messaging.operation.type"] == "process"
    assert rolled.attributes["messaging.destination.name"] == "headrace.model.promoted"
    assert promoted.attributes["messaging.operation.type"] == "send"
    assert promoted.span.kind == promoted.span.SPAN_KIND_PRODUCER
    assert rolled.span.kind == rolled.span.SPAN_KIND_CONSUMER

    # the new revision's load and the first request it served
    load = one(spans, "load traced-predictor-00002")
    request = one(spans, "first request traced-predictor-00002")
    for span in (load, request):
        assert span.parent_id == rolled.span_id
        assert span.service == "headrace-serving"
        assert span.attributes["headrace.model_version"] == "2"
    assert request.span.kind == request.span.SPAN_KIND_SERVER
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["url.path"] == "/v2/models/traced/infer"
    assert request.span.start_time_unix_nano >= load.span.end_time_unix_nano
    # ... linked to the request's own trace, where the model server's span is
    [link] = request.span.links
    assert (link.trace_id.hex(), link.span_id.hex()) == tuple(TRAFFIC.split("-")[1:3])
    served = receiver.wait_for(
        lambda got: any(s.trace_id == TRAFFIC.split("-")[1] for s in got), "the model server"
    )
    server = next(s for s in served if s.trace_id == TRAFFIC.split("-")[1])
    assert server.service == "headrace-model-server"
    assert server.name == "POST /v2/models/{name}/infer"
    assert server.parent_id == TRAFFIC.split("-")[2]
    # version 1's revision was made in another trace (the test's apply): not in this one
    assert not [s for s in spans if "traced-predictor-00001" in s.name]
