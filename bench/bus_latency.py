"""Publish-to-handle latency and sustained throughput through one Headrace service.

Compared in the same run with bare nats-py JetStream (publish + durable pull consumer +
explicit ack, no envelope, no tracing, no database) so the ratio is Headrace's own cost:
CloudEvents encoding, trace spans, the idempotency records committed with each batch.

Latency is measured at low load (one message in flight, published once the consumer has
acknowledged the one before). Throughput is what the consumer handles while a publisher in
another process (as an external system or another service would be) keeps 256 publishes in
flight: the rate, and the consumer process's own CPU time per event. For Headrace the
publisher sends CloudEvents encoded as `Bus.publish` encodes them and the consumer is a
`Service`; for the bare contender the consumer is plain nats-py. The Headrace handler runs on the
service's handling thread (its database work off the event loop, see
``headrace_runtime.threads``), and the time it sees a message is taken there; the consumer
process's heap is settled and its threads share the interpreter as a service process's do
(``headrace_runtime.settle_heap``, ``share_interpreter``) for both contenders.
CPU time per event varies less than the rate on a shared machine. Targets (issue 14): at
least 5,000 events/s, p99 under 5 ms; a miss is reported, and the exit status is non-zero
only if the benchmark itself fails.

    .venv/bin/python bench/bus_latency.py [--latency-count 500] [--throughput-count 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from headrace.natsserver import NatsServer
from headrace_bus import Bus, BusConfig
from headrace_contracts import ArtifactRef, ArtifactWritten, encode
from headrace_runtime import HandlerContext, Service, Settings, settle_heap, share_interpreter

TARGET_EVENTS_PER_S = 5000
TARGET_P99_MS = 5.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Probe:
    """Arrival bookkeeping shared by both contenders.

    A Headrace handler runs on the service's handling thread, not on the loop that awaits
    ``done``: an arrival is counted under a lock there, and the loop is woken once, when the
    last one expected has come (waking it for every arrival would cost a system call each).
    """

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.count = 0
        self.done = asyncio.Event()
        self.target = 0
        self._lock = threading.Lock()
        self._loop = asyncio.get_running_loop()

    def arrived(self, key: str) -> None:
        at = time.perf_counter()
        with self._lock:
            sent = self.sent.pop(key, None)
            if sent is not None:
                self.latencies.append(at - sent)
            self.count += 1
            last = self.count == self.target
        if not last:
            return
        if threading.current_thread() is threading.main_thread():
            self.done.set()
        else:
            self._loop.call_soon_threadsafe(self.done.set)

    def expect(self, n: int) -> None:
        with self._lock:
            self.count, self.target = 0, n
            self.done = asyncio.Event()


WINDOW = 256
"""Publishes the publisher keeps in flight."""


async def publisher(kind: str, url: str, count: int) -> None:
    """The throughput phase's publisher, run in a process of its own (``--publish``): it
    encodes ``count`` messages (for Headrace each a CloudEvent in binary mode, as
    `Bus.publish` sends it: the envelope's headers, ``Nats-Msg-Id`` among them, and the JSON
    data), connects, says ``ready``, and on a line from its standard input publishes them,
    ``WINDOW`` in flight. Encoding before the start keeps the publisher's own cost, which
    a 2-core machine would take from the consumer, out of the consumer's rate."""
    keys = [f"rate-{i}" for i in range(count)]
    if kind == "bare":
        messages = [("bare.x", key.encode(), {"Nats-Msg-Id": key}) for key in keys]
    else:
        messages = [
            encode(ArtifactWritten(artifact=ArtifactRef(uri="file:///b", name=key)), source="bench")
            for key in keys
        ]
    nc = await nats.connect(url)
    js = nc.jetstream()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    for first in range(0, count, WINDOW):
        await asyncio.gather(
            *(
                js.publish(subject, data, headers=headers)
                for subject, data, headers in messages[first : first + WINDOW]
            )
        )
    await nc.close()


class Flood:
    """A publisher process (see `publisher`), connected and ready: `go` starts it, and
    `finished` waits until it has published everything and exited."""

    def __init__(self, kind: str, process: asyncio.subprocess.Process) -> None:
        self.kind = kind
        self.process = process

    async def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def finished(self) -> None:
        if await self.process.wait() != 0:
            raise SystemExit(f"the {self.kind} publisher failed ({self.process.returncode})")


async def flood(kind: str, url: str, count: int) -> Flood:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publish",
        kind,
        "--url",
        url,
        "--throughput-count",
        str(count),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    ready = await asyncio.wait_for(process.stdout.readline(), 60)
    if ready.strip() != b"ready":
        raise SystemExit(f"the {kind} publisher did not start: {ready!r}")
    return Flood(kind, process)


async def measure(
    name: str,
    publish: Callable[[str], Awaitable[None]],
    probe: Probe,
    latency_n: int,
    rate_n: int,
    pending: Callable[[], Awaitable[int]],
    kind: str,
    url: str,
) -> dict[str, float]:
    """``pending()``: the messages the consumer has not acknowledged yet. At low load the
    next message is published once the consumer has acknowledged the last (it is idle, its
    next pull waiting), so no message's latency includes the end of the previous one's
    handling; the wait is not part of the latency. The throughput phase's messages come
    from a ``kind`` publisher in another process (`flood`); its time runs from the go."""
    for i in range(20):  # warm up
        probe.expect(1)
        await publish(f"warm-{i}")
        await probe.done.wait()
    probe.latencies.clear()
    for i in range(latency_n):
        while await pending():
            pass
        key = f"lat-{i}"
        probe.expect(1)
        probe.sent[key] = time.perf_counter()
        await publish(key)
        await asyncio.wait_for(probe.done.wait(), 30)
    lat = [v * 1000 for v in probe.latencies]

    probe.expect(rate_n)
    publisher_process = await flood(kind, url, rate_n)
    start, cpu = time.perf_counter(), time.process_time()
    await publisher_process.go()
    await asyncio.wait_for(probe.done.wait(), 300)
    elapsed = time.perf_counter() - start
    await publisher_process.finished()
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

    async def pending() -> int:
        info = await js.consumer_info("BARE", "bare")
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    try:
        return await measure(
            "nats-py JetStream (bare)", publish, probe, latency_n, rate_n, pending, "bare", url
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await nc.close()


async def headrace(url: str, home: Path, latency_n: int, rate_n: int) -> dict[str, float]:
    probe = Probe()
    service = Service("bench", Settings(home=home, nats_url=url, log_level="WARNING"))

    @service.handles(ArtifactWritten)
    async def on_artifact(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        probe.arrived(event.artifact.name)  # on the service's handling thread

    await service.start()
    client = Bus(BusConfig(url=url), source="bench")
    await client.connect()

    async def publish(key: str) -> None:
        await client.publish(ArtifactWritten(artifact=ArtifactRef(uri="file:///b", name=key)))

    try:
        return await measure(
            "Headrace service (durable)",
            publish,
            probe,
            latency_n,
            rate_n,
            lambda: client.pending(service.durable),
            "headrace",
            url,
        )
    finally:
        await client.close()
        await service.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-count", type=int, default=500)
    parser.add_argument("--throughput-count", type=int, default=20000)
    parser.add_argument("--publish", choices=["bare", "headrace"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:  # the throughput phase's publisher process
        await publisher(args.publish, args.url, args.throughput_count)
        return
    if args.latency_count < 1 or args.throughput_count < 1:
        parser.error("--latency-count and --throughput-count must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            print(f"nats-server {server.url}, JetStream file storage; SQLite idempotency store")
            settle_heap()
            share_interpreter()
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
