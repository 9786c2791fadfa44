"""What a Client publishes belongs to its caller's trace: the caller's current span, or,
in a process started with TRACEPARENT (a pipeline step) and no span of its own, that trace
(a real nats-server, scheduler and metadata service; the message read off the wire)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import nats
import pytest
from client_pipelines import summed
from client_platform import Platform
from opentelemetry.sdk.trace import TracerProvider

from headrace import Client

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


class Wire:
    """Every SubmitRun's headers as NATS delivers them, from a thread of its own."""

    def __init__(self, url: str) -> None:
        self.headers: list[dict[str, str]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._run(url),)
        )
        self._thread.start()
        assert self._ready.wait(10)

    async def _run(self, url: str) -> None:
        connection = await nats.connect(url)
        self._stop = asyncio.Event()

        async def got(msg: nats.aio.msg.Msg) -> None:
            self.headers.append(dict(msg.headers or {}))

        await connection.subscribe("headrace.run.submit", cb=got)
        await connection.flush()
        self._ready.set()
        await self._stop.wait()
        await connection.close()

    def close(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def wire(platform: Platform) -> Iterator[Wire]:
    watched = Wire(platform.url)
    yield watched
    watched.close()


def headers_of(wire: Wire, count: int) -> dict[str, str]:
    """The headers of the ``count``-th SubmitRun, once it has come."""
    for _ in range(200):
        if len(wire.headers) >= count:
            return wire.headers[count - 1]
        threading.Event().wait(0.05)
    raise AssertionError(f"{count} SubmitRun messages not seen: {wire.headers}")


def test_a_step_s_messages_continue_the_trace_it_was_started_in(
    wire: Wire, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEPARENT", f"00-{TRACE}-{PARENT}-01")
    client.submit(summed, {"n": 1})
    trace_id, parent = headers_of(wire, 1)["traceparent"].split("-")[1:3]
    assert (trace_id, parent) == (TRACE, PARENT)  # no SDK here: the publish adds no span

    # the caller's own span, when it has one, comes first
    provider = TracerProvider()
    with provider.get_tracer("caller").start_as_current_span("mine") as mine:
        client.submit(summed, {"n": 2})
    trace_id, _ = headers_of(wire, 2)["traceparent"].split("-")[1:3]
    assert trace_id == f"{mine.get_span_context().trace_id:032x}"
    provider.shutdown()

    monkeypatch.delenv("TRACEPARENT")
    client.submit(summed, {"n": 3})
    assert "traceparent" not in headers_of(wire, 3)  # nothing to continue, nothing sent
