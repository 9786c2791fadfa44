"""What every service measures about its own message handling.

``headrace.handler.calls``      handler runs, by ``message.type`` and ``outcome`` (``ok``;
                                ``error``: the handler raised, and the bus retries or
                                dead-letters the message). A batch that one message's error
                                aborts is handled again one message at a time, so its other
                                messages count twice; a message already handled is not run
``headrace.handler.duration``   seconds per handling, by ``message.type``
``headrace.messages.dead_lettered``  messages given up on, by ``message.type`` and ``reason``
``headrace.events.published``   events and commands this service stored in the domain stream,
                                by ``message.type``: the scheduler's ``step.succeeded``, ...
                                are the steps by state, the tuner's ``trial.*`` the trials
``headrace.consumer.lag``       messages of the stream this service's durable consumer has
                                not yet had acknowledged (pending + in flight), by
                                ``consumer``; read from JetStream every ``lag_interval`` s

The handler calls are counted in the service and observed when the metrics are read (the
same cumulative counter to Prometheus): recorded through the SDK, whose every measurement
cleans and hashes its attributes, counting cost more than a small handler.

Prometheus shows them as ``headrace_handler_calls_total``,
``headrace_handler_duration_seconds``, ``headrace_messages_dead_lettered_total``,
``headrace_events_published_total`` and ``headrace_consumer_lag``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

log = logging.getLogger("headrace.metrics")

Handler = Callable[[Any, Any], Awaitable[None]]
LagSource = Callable[[str], Awaitable[int]]


class HandlingMetrics:
    """The instruments above, made once per service process from its meter."""

    def __init__(self, meter: Meter) -> None:
        # Counted here and observed at collection: a measurement through the SDK (its
        # attributes cleaned and hashed) costs more than the handler of a small event.
        self._calls: dict[tuple[str, str], int] = {}
        self._calls_lock = threading.Lock()
        meter.create_observable_counter(
            "headrace.handler.calls",
            callbacks=[self._observe_calls],
            unit="{call}",
            description="handler runs, by outcome",
        )
        self._duration = meter.create_histogram(
            "headrace.handler.duration", unit="s", description="time to handle one message"
        )
        self._dead = meter.create_counter(
            "headrace.messages.dead_lettered",
            unit="{message}",
            description="messages the bus gave up on (kept in the dead-letter stream)",
        )
        self._published = meter.create_counter(
            "headrace.events.published",
            unit="{message}",
            description="events and commands stored in the domain stream",
        )
        self._lag: dict[str, int] = {}
        meter.create_observable_gauge(
            "headrace.consumer.lag",
            callbacks=[self._observe_lag],
            unit="{message}",
            description="messages not yet acknowledged by the durable consumer",
        )

    def timed(self, message_type: str, handler: Handler) -> Handler:
        """``handler``, counting each call and timing it under ``message_type``."""

        typed = {"message.type": message_type}  # made once: this runs for every message
        ok, error = (message_type, "ok"), (message_type, "error")

        async def handle(message: Any, ctx: Any) -> None:
            started = time.perf_counter()
            outcome = error
            try:
                await handler(message, ctx)
                outcome = ok
            finally:
                self._duration.record(time.perf_counter() - started, typed)
                with self._calls_lock:
                    self._calls[outcome] = self._calls.get(outcome, 0) + 1

        handle.__name__ = getattr(handler, "__name__", "handle")
        return handle

    def dead_lettered(self, message_type: str, reason: str) -> None:
        self._dead.add(1, {"message.type": message_type or "unknown", "reason": reason})

    def published(self, message_type: str) -> None:
        self._published.add(1, {"message.type": message_type or "unknown"})

    def set_lag(self, consumer: str, pending: int) -> None:
        self._lag[consumer] = pending

    def _observe_calls(self, _: CallbackOptions) -> Iterable[Observation]:
        with self._calls_lock:
            counts = list(self._calls.items())
        return [
            Observation(n, {"message.type": message_type, "outcome": outcome})
            for (message_type, outcome), n in counts
        ]

    def _observe_lag(self, _: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"consumer": name}) for name, n in self._lag.items()]


async def follow_lag(
    metrics: HandlingMetrics, consumers: list[str], pending: LagSource, interval: float
) -> None:
    """Read each consumer's lag every ``interval`` seconds until cancelled; a read that fails
    (the stream is being created, the connection is down) keeps the last value."""
    while True:
        for consumer in consumers:
            with contextlib.suppress(Exception):
                metrics.set_lag(consumer, await pending(consumer))
        await asyncio.sleep(interval)
