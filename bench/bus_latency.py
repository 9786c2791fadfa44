"""Publish-to-handle latency and sustained throughput through one Headrace service.

Compared in the same run with bare nats-py JetStream (publish + durable pull consumer +
explicit ack, no envelope, no tracing, no database) so the ratio is Headrace's own cost:
CloudEvents encoding, trace spans, the idempotency records committed with each batch.

Latency is measured at low load (one message in flight), throughput with the publisher
keeping 256 publishes in flight; publisher and consumer share this process, whose heap is
settled as a service process's is (``headrace_runtime.settle_heap``) for both contenders.
Process CPU time per event is printed too: on a shared machine it varies less than the
rate. Targets (issue 14): at least 5,000 events/s, p99 under 5 ms; a miss is reported, and
the exit status is non-zero only if the benchmark itself fails.

    .venv/bin/python bench/bus_latency.py [--latency-count 500] [--throughput-count 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from headrace.natsserver import NatsServer
from headrace_bus import Bus, BusConfig
from headrace_contracts import ArtifactRef, ArtifactWritten
from headrace_runtime import HandlerContext, Service, Settings, settle_heap

TARGET_EVENTS_PER_S = 5000
TARGET_P99_MS = 5.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Probe:
    """Arrival bookkeeping shared by both contenders."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.count = 0
        self.done = asyncio.Event()
        self.target = 0

    def arrived(self, key: str, at: float | None = None) -> None:
        sent = self.sent.pop(key, None)
        if sent is not None:
            self.latencies.append((at or time.perf_counter()) - sent)
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def expect(self, n: int) -> None:
        self.count, self.target = 0, n
        self.done = asyncio.Event()


async def measure(
    name: str, publish: Callable[[str], Awaitable[None]], probe: Probe, latency_n: int, rate_n: int
) -> dict[str, float]:
    for i in range(20):  # warm up
        probe.expect(1)
        await publish(f"warm-{i}")
        await probe.done.wait()
    probe.latencies.clear()
    for i in range(latency_n):
        key = f"lat-{i}"
        probe.expect(1)
        probe.sent[key] = time.perf_counter()
        await publish(key)
        await asyncio.wait_for(probe.done.wait(), 30)
    lat = [v * 1000 for v in probe.latencies]

    probe.expect(rate_n)
    start, cpu = time.perf_counter(), time.process_time()
    window = 256
    for first in range(0, rate_n, window):
        await asyncio.gather(
            *(publish(f"rate-{i}") for i in range(first, min(first + window, rate_n)))
        )
    await asyncio.wait_for(probe.done.wait(), 300)
    elapsed = time.perf_counter() - start
    result = {
        "p50_ms": statistics.median(lat),
        "p99_ms": percentile(lat, 0.99),
        "events_per_s": rate_n / elapsed,
        "cpu_us": (time.process_time() - cpu) / rate_n * 1e6,
    }
    print(
        f"{name:<28} p50 {result['p50_ms']:7.2f} ms   p99 {result['p99_ms']:7.2f} ms   "
        f"{result['events_per_s']:8.0f} events/s ({rate_n} events, {elapsed:.2f} s, "
        f"{result['cpu_us']:.0f} us CPU/event)"
    )
    return result


async def bare_nats(url: str, latency_n: int, rate_n: int) -> dict[str, float]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="BARE", subjects=["bare.>"]))
    await js.add_consumer(
        "BARE",
        ConsumerConfig(durable_name="bare", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1000),
    )
    sub = await js.pull_subscribe_bind("bare", stream="BARE")
    probe = Probe()

    async def consume() -> None:
        while True:
            try:
                msgs = await sub.fetch(16, timeout=1)
            except nats.errors.TimeoutError:
                continue
            except nats.errors.ConnectionClosedError:
                return
            for msg in msgs:
                await msg.ack()
                probe.arrived(msg.data.decode())

    task = asyncio.create_task(consume())

    async def publish(key: str) -> None:
        await js.publish("bare.x", key.encode(), headers={"Nats-Msg-Id": key})

    try:
        return await measure("nats-py JetStream (bare)", publish, probe, latency_n, rate_n)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await nc.close()


async def headrace(url: str, home: Path, latency_n: int, rate_n: int) -> dict[str, float]:
    probe = Probe()
    service = Service("bench", Settings(home=home, nats_url=url, log_level="WARNING"))

    loop = asyncio.get_running_loop()

    @service.handles(ArtifactWritten)
    async def on_artifact(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        # The handler runs on the service's handling thread: the probe belongs to this loop.
        loop.call_soon_threadsafe(probe.arrived, event.artifact.name, time.perf_counter())

    await service.start()
    client = Bus(BusConfig(url=url), source="bench")
    await client.connect()

    async def publish(key: str) -> None:
        await client.publish(ArtifactWritten(artifact=ArtifactRef(uri="file:///b", name=key)))

    try:
        return await measure("Headrace service (durable)", publish, probe, latency_n, rate_n)
    finally:
        await client.close()
        await service.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-count", type=int, default=500)
    parser.add_argument("--throughput-count", type=int, default=5000)
    args = parser.parse_args()
    if args.latency_count < 1 or args.throughput_count < 1:
        parser.error("--latency-count and --throughput-count must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            print(f"nats-server {server.url}, JetStream file storage; SQLite idempotency store")
            settle_heap()
            bare = await bare_nats(server.url, args.latency_count, args.throughput_count)
            ours = await headrace(
                server.url, Path(tmp) / "home", args.latency_count, args.throughput_count
            )
        finally:
            server.stop()
    print(
        f"ratio Headrace/bare: p50 {ours['p50_ms'] / bare['p50_ms']:.2f}x, "
        f"p99 {ours['p99_ms'] / bare['p99_ms']:.2f}x, "
        f"throughput {ours['events_per_s'] / bare['events_per_s']:.2f}x, "
        f"CPU/event {ours['cpu_us'] / bare['cpu_us']:.2f}x"
    )
    rate_ok = ours["events_per_s"] >= TARGET_EVENTS_PER_S
    p99_ok = ours["p99_ms"] < TARGET_P99_MS
    print(
        f"targets: >= {TARGET_EVENTS_PER_S} events/s {'met' if rate_ok else 'MISSED'}, "
        f"p99 < {TARGET_P99_MS:g} ms {'met' if p99_ok else 'MISSED'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
