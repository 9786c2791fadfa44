"""Every service's Prometheus endpoint: messages handled and their errors by type, handler
time, events published, dead letters and the durable consumer's lag, scraped over HTTP from a
service handling real messages (a real nats-server and database)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from headrace_bus import Bus
from headrace_contracts import ArtifactRef, ArtifactWritten, MetricReported, Ping, Pong
from headrace_runtime import HandlerContext, Service, Settings
from headrace_telemetry.metrics import MetricsSettingError, start_metrics
from headrace_testing import wait_for
from headrace_testing.metrics import Samples, sample, scrape

Start = Callable[[Service], Awaitable[Service]]
WRITTEN = ArtifactWritten.ce_type()
REPORTED = MetricReported.ce_type()


def calls(samples: Samples, message_type: str) -> float:
    return sample(samples, "headrace_handler_calls_total", message_type=message_type) or 0.0


async def test_a_service_measures_its_messages_on_its_metrics_endpoint(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    service = Service("alpha", settings(metrics_lag_interval=0.05))

    @service.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        ctx.publish(MetricReported(metric="size", value=1.0, run_id=event.run_id))

    @service.handles(MetricReported)
    async def broken(event: MetricReported, ctx: HandlerContext[MetricReported]) -> None:
        raise KeyError("metric")  # a programming error: given up at once

    await started(service)
    assert service.metrics is not None
    url = service.metrics.url
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/metrics")
    for n in range(3):  # one at a time: a batch the failing message aborts runs again
        written = ArtifactWritten(artifact=ArtifactRef(uri=f"file:///a{n}"), run_id="r")
        await client.publish(written)
        await wait_for(lambda n=n: calls(scrape(url), REPORTED) == n + 1, what=f"call {n}")

    samples: Samples = {}

    def counted() -> bool:  # the endpoint answers from its own thread
        nonlocal samples
        samples = scrape(url)
        dead = sample(samples, "headrace_messages_dead_lettered_total", message_type=REPORTED)
        return dead == 3

    await wait_for(counted, what="three dead letters counted on the metrics endpoint")
    handled = "headrace_handler_calls_total"
    assert sample(samples, handled, message_type=WRITTEN, outcome="ok") == 3
    assert sample(samples, handled, message_type=WRITTEN, outcome="error") is None
    assert sample(samples, handled, message_type=REPORTED, outcome="error") == 3
    assert sample(samples, handled, message_type=REPORTED, outcome="ok") is None
    assert sample(samples, "headrace_messages_dead_lettered_total", reason="rejected") == 3
    assert sample(samples, "headrace_handler_duration_seconds_count", message_type=WRITTEN) == 3
    assert sample(samples, "headrace_events_published_total", message_type=REPORTED) == 3

    def caught_up() -> bool:
        return sample(scrape(url), "headrace_consumer_lag", consumer="alpha") == 0

    await wait_for(caught_up, what="the consumer's lag read back as 0")
    (pong,) = await client.gather(Ping(service="alpha"), timeout=2)
    assert isinstance(pong, Pong)
    assert pong.endpoints["metrics"] == url


async def test_the_endpoint_can_be_turned_off_and_a_bad_port_is_named(
    settings: Callable[..., Settings], started: Start
) -> None:
    service = Service("quiet", settings(metrics_port="off"))
    await started(service)
    assert service.metrics is not None
    assert service.metrics.url == ""
    assert "metrics" not in service.endpoints

    with pytest.raises(MetricsSettingError) as bad:
        start_metrics("quiet", env={"HEADRACE_METRICS_PORT": "metrics"})
    assert str(bad.value) == (
        "HEADRACE_METRICS_PORT='metrics' is not a port: give a number from 0 to 65535 (0: any "
        "free port) or 'off' for no metrics endpoint"
    )
    taken = start_metrics("first")
    try:
        port = taken.url.rsplit(":", 1)[1].split("/")[0]
        with pytest.raises(MetricsSettingError) as busy:
            start_metrics("second", env={"HEADRACE_METRICS_PORT": port})
        assert str(busy.value).startswith(f"the metrics endpoint cannot listen on 127.0.0.1:{port}")
        assert "set HEADRACE_METRICS_PORT to a free port" in str(busy.value)
    finally:
        taken.shutdown()
