"""One trace across services: publish -> process -> publish -> process, with parentage."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from headrace_bus import Bus, BusConfig
from headrace_contracts import ArtifactRef, ArtifactWritten, MetricReported
from headrace_runtime import HandlerContext, Service, Settings
from headrace_telemetry import ServiceTracerProvider
from headrace_testing import TestNats, wait_for

Start = Callable[[Service], Awaitable[Service]]


async def test_one_event_causes_one_trace_across_two_services(
    settings: Callable[..., Settings], started: Start, nats_server: TestNats
) -> None:
    exporter = InMemorySpanExporter()
    alpha = Service("alpha", settings(), span_exporter=exporter)
    beta = Service("beta", settings(), span_exporter=exporter)
    done: list[str] = []

    @alpha.handles(ArtifactWritten)
    async def relay(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        ctx.publish(MetricReported(metric="size", value=1.0, run_id=event.run_id))

    @beta.handles(MetricReported)
    async def record(event: MetricReported, ctx: HandlerContext[MetricReported]) -> None:
        done.append(ctx.event_id)

    await started(alpha)
    await started(beta)

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = Bus(
        BusConfig(url=nats_server.url),
        source="tests/client",
        tracer=provider.get_tracer("tests"),
    )
    await client.connect()
    try:
        await client.publish(ArtifactWritten(artifact=ArtifactRef(uri="file:///m"), run_id="r"))
        await wait_for(lambda: len(done) == 1, what="the second service")
    finally:
        await client.close()
    await wait_for(lambda: len(exporter.get_finished_spans()) >= 4, what="four spans")

    spans = {s.name: s for s in exporter.get_finished_spans()}
    first_publish = spans["publish headrace.artifact.written"]
    alpha_process = spans["process headrace.artifact.written"]
    second_publish = spans["publish headrace.metric.reported"]
    beta_process = spans["process headrace.metric.reported"]
    chain = [first_publish, alpha_process, second_publish, beta_process]

    assert len({s.context.trace_id for s in chain}) == 1
    assert first_publish.parent is None
    for parent, child in itertools.pairwise(chain):
        assert child.parent is not None
        assert child.parent.span_id == parent.context.span_id, (parent.name, child.name)
    assert [s.kind for s in chain] == [
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
    ]
    for span in chain:
        assert span.attributes is not None
        assert span.attributes["messaging.system"] == "nats"
    assert alpha_process.attributes is not None
    assert alpha_process.attributes["messaging.consumer.group.name"] == "alpha"
    assert alpha_process.resource.attributes["service.name"] == "headrace-alpha"
    assert beta_process.resource.attributes["service.name"] == "headrace-beta"


async def test_a_service_that_exports_nothing_still_carries_the_trace_on(
    settings: Callable[..., Settings], started: Start, nats_server: TestNats
) -> None:
    exporter = InMemorySpanExporter()
    alpha = Service("alpha", settings())  # no exporter: records no spans
    beta = Service("beta", settings(), span_exporter=exporter)
    done: list[str] = []

    @alpha.handles(ArtifactWritten)
    async def relay(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        ctx.publish(MetricReported(metric="size", value=1.0, run_id=event.run_id))

    @beta.handles(MetricReported)
    async def record(event: MetricReported, ctx: HandlerContext[MetricReported]) -> None:
        done.append(ctx.event_id)

    await started(alpha)
    await started(beta)
    assert isinstance(alpha.tracer_provider, ServiceTracerProvider)
    assert not alpha.tracer_provider.exporting

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = Bus(
        BusConfig(url=nats_server.url), source="tests/client", tracer=provider.get_tracer("t")
    )
    await client.connect()
    try:
        await client.publish(ArtifactWritten(artifact=ArtifactRef(uri="file:///m"), run_id="r"))
        await wait_for(lambda: len(done) == 1, what="the second service")
    finally:
        await client.close()
    await wait_for(lambda: len(exporter.get_finished_spans()) >= 2, what="two spans")

    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"publish headrace.artifact.written", "process headrace.metric.reported"}
    first_publish = spans["publish headrace.artifact.written"]
    beta_process = spans["process headrace.metric.reported"]
    assert beta_process.context.trace_id == first_publish.context.trace_id
    # Its parent is alpha's publish span: not recorded, but a span of its own.
    assert beta_process.parent is not None
    assert beta_process.parent.span_id != first_publish.context.span_id
    assert beta_process.parent.trace_flags.sampled
