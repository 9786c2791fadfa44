"""What the data plane takes from a request and a plan to trace a revision (no broker)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from headrace_serving.dataplane import RevisionPlan, ServiceKey
from headrace_serving.revisions.tracing import RevisionTrace, request_link
from headrace_telemetry import headers_of

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_a_request_s_traceparent_header_becomes_a_link_and_a_malformed_one_none() -> None:
    headers = [
        b"Content-Type: application/json\r\n",
        f"TraceParent: 00-{TRACE}-{PARENT}-01\r\n".encode(),
    ]
    link = request_link(headers)
    assert link is not None
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (TRACE, PARENT)
    assert request_link([b"traceparent: 00-nonsense\r\n"]) is None
    assert request_link([b"Host: x\r\n"]) is None


def test_a_plan_without_a_trace_or_a_fleet_without_a_tracer_traces_nothing() -> None:
    tracer = TracerProvider().get_tracer("t")
    key = ServiceKey("default", "iris")
    assert RevisionTrace.of(tracer, key, RevisionPlan("iris-predictor-00001", "iris", "/m")) is None
    traced = RevisionPlan(
        "iris-predictor-00001",
        "iris",
        "/m",
        trace_context={"traceparent": f"00-{TRACE}-{PARENT}-01"},
    )
    assert RevisionTrace.of(None, key, traced) is None


def test_the_load_and_the_first_request_are_children_of_the_plan_s_context() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    plan = RevisionPlan(
        "iris-predictor-00002",
        "iris",
        "models:/iris/2",
        model_version="2",
        trace_context={"traceparent": f"00-{TRACE}-{PARENT}-01"},
    )
    traced = RevisionTrace.of(provider.get_tracer("t"), ServiceKey("default", "iris"), plan)
    assert traced is not None
    traced.loading()
    traced.loaded()
    traced.loaded()  # once
    traced.first_request(b"POST", b"/v2/models/iris/infer?x=1", [], 503, 0.25)
    load, first = exporter.get_finished_spans()
    assert (load.name, first.name) == (
        "load iris-predictor-00002",
        "first request iris-predictor-00002",
    )
    for span in (load, first):
        assert span.parent is not None
        assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE, PARENT)
    assert first.attributes is not None
    assert first.attributes["url.path"] == "/v2/models/iris/infer"
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["headrace.model_version"] == "2"
    assert not first.status.is_ok
    assert first.end_time is not None
    assert first.start_time is not None
    assert abs((first.end_time - first.start_time) - 250_000_000) < 1_000_000
    assert first.links == ()


def test_headers_of_a_context_without_a_span_are_empty() -> None:
    assert headers_of() == {}
