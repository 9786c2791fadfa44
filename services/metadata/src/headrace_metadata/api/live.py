"""Live bus events for the dashboard: the service process subscribes once (core NATS, not
durable) to the domain subjects, ``headrace.<area>.>`` for each area of the catalogue's
events and commands, and to telemetry (``headrace.telemetry.>``, e.g. each InferenceService's
traffic summary), and fans each event out to every connected listener through a
bounded asyncio queue.

Not ``headrace.>``: a subscriber there would also receive every query
(``headrace.query.>``) without answering it, so an asker would wait out its timeout instead
of learning at once that no service answers.

Not durable: a listener sees what is published while it listens. A listener that falls
``queue_size`` events behind is ended (its stream says ``overflow``); the browser's
``EventSource`` reconnects and the page reads the current state again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from headrace_bus.streams import domain_subjects
from headrace_contracts import CATALOGUE, Catalogue
from headrace_contracts.base import TELEMETRY_PREFIX

__all__ = ["KEEPALIVE_SECONDS", "Listener", "LiveEvent", "LiveHub", "event_stream", "matcher"]

log = logging.getLogger("headrace.metadata.api")

NOT_DOMAIN = ("headrace.query.", "headrace.dlq.", "headrace.ext.")
KEEPALIVE_SECONDS = 15.0
QUEUE_SIZE = 1000


@dataclass(frozen=True)
class LiveEvent:
    """One domain event as the dashboard gets it."""

    type: str
    id: str
    subject: str
    time: str
    data: Any
    run_id: str = ""

    @classmethod
    def of(cls, msg: Msg) -> LiveEvent | None:
        """The event ``msg`` carries; None for what is not a domain CloudEvent."""
        headers = msg.headers or {}
        ce_type = headers.get("ce-type", "")
        if not ce_type or msg.subject.startswith(NOT_DOMAIN):
            return None
        try:
            data = json.loads(msg.data or b"null")
        except ValueError:
            return None
        run_id = data.get("run_id", "") if isinstance(data, dict) else ""
        return cls(
            type=ce_type,
            id=headers.get("ce-id", ""),
            subject=msg.subject,
            time=headers.get("ce-time", ""),
            data=data,
            run_id=run_id if isinstance(run_id, str) else "",
        )

    def sse(self) -> str:
        """The event as one Server-Sent Event."""
        body = {"type": self.type, "id": self.id, "subject": self.subject, "time": self.time}
        body["data"] = self.data
        return f"event: {self.type}\nid: {self.id}\ndata: {json.dumps(body)}\n\n"


def matcher(run_id: str = "", type_prefix: str = "") -> Callable[[LiveEvent], bool]:
    """Whether an event is of ``run_id`` (any run when empty) and its type starts with
    ``type_prefix``."""

    def accepts(event: LiveEvent) -> bool:
        return (not run_id or event.run_id == run_id) and event.type.startswith(type_prefix)

    return accepts


class Listener:
    """One consumer of live events: those ``accepts`` keeps, in order, until ``None``."""

    def __init__(self, accepts: Callable[[LiveEvent], bool], size: int) -> None:
        self.accepts = accepts
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False
        self.ended = False

    def offer(self, event: LiveEvent) -> None:
        if self.ended or not self.accepts(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.end()

    def end(self) -> None:
        """No more events: what is queued is dropped, the reader gets ``None`` next."""
        if self.ended:
            return
        self.ended = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class LiveHub:
    """The service's one subscription to domain events and the listeners it feeds."""

    def __init__(self, *, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._listeners: set[Listener] = set()
        self._subscriptions: list[Subscription] = []

    def __len__(self) -> int:
        """How many listeners are connected."""
        return len(self._listeners)

    async def start(self, connection: NatsClient, catalogue: Catalogue = CATALOGUE) -> None:
        """Subscribe to the domain subjects of ``catalogue`` and to telemetry."""
        for subject in [*domain_subjects(catalogue), f"{TELEMETRY_PREFIX}.>"]:
            found = await connection.subscribe(subject, cb=self._received)
            self._subscriptions.append(found)

    async def stop(self) -> None:
        """Unsubscribe and end every listener (their streams close)."""
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):  # the connection may be closed already
                await subscription.unsubscribe()
        self._subscriptions = []
        for listener in list(self._listeners):
            listener.end()

    async def _received(self, msg: Msg) -> None:
        event = LiveEvent.of(msg)
        if event is not None:
            self.deliver(event)

    def deliver(self, event: LiveEvent) -> None:
        for listener in list(self._listeners):
            listener.offer(event)

    @contextlib.contextmanager
    def listen(self, accepts: Callable[[LiveEvent], bool]) -> Iterator[Listener]:
        """A listener for the ``with`` block; removed at its end (a closed connection)."""
        listener = Listener(accepts, self.queue_size)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            listener.ended = True


async def event_stream(
    hub: LiveHub,
    accepts: Callable[[LiveEvent], bool],
    *,
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[str]:
    """Server-Sent Events of what ``accepts`` keeps, with a comment every ``keepalive``
    seconds without one; ends when the hub stops or the listener falls behind."""
    with hub.listen(accepts) as listener:
        yield f": listening ({len(hub)} connected)\n\n"
        while True:
            try:
                async with asyncio.timeout(keepalive):
                    event = await listener.queue.get()
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                if listener.overflowed:
                    reason = {"reason": f"more than {hub.queue_size} events were waiting"}
                    yield f"event: overflow\ndata: {json.dumps(reason)}\n\n"
                return
            yield event.sse()
