"""The router of one InferenceService: each request to a revision (the traffic split), then to
the least-loaded ready replica of it, over a kept-alive connection.

The common case (a ready replica with room and an idle connection) is handled in the
callback that parsed the request, without a task. Otherwise a task waits: for a replica of a
revision that scales from zero or is full (up to the cold-start timeout), or for a new
connection. A request in flight keeps the revision and replica it started on, whatever the
traffic does meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from ..dataplane import FleetEvents, LoggedKind, LoggerPlan, ServiceKey, Traffic
from ..revisions.replica import Replica
from ..revisions.revision import Revision
from .headers import error_response, request_bytes, response_bytes
from .http import FrontProtocol, Request
from .metrics import RequestMetrics
from .split import Split
from .upstream import UpstreamError, UpstreamResponse
from .window import TrafficWindow

__all__ = ["ServiceRouter"]

log = logging.getLogger("headrace.serving.router")
ATTEMPTS = 4
"""Tries of a request whose replica could not be reached (nothing of it was sent)."""


class Exchange:
    """One request on its way through the router."""

    __slots__ = ("attempts", "client", "data", "replica", "request", "request_id", "revision",
                 "router", "started")  # fmt: skip

    def __init__(self, router: ServiceRouter, request: Request, client: FrontProtocol) -> None:
        self.router = router
        self.request = request
        self.client = client
        # HEAD goes upstream as GET (its answer's length is then known), answered bodiless.
        method = b"GET" if request.method == b"HEAD" else request.method
        self.data = request_bytes(method, request.url, request.headers, request.body)
        self.revision: Revision | None = None
        self.replica: Replica | None = None
        self.attempts = 0
        self.request_id = ""
        self.started = router.loop.time()

    def done(self, response: UpstreamResponse | None, error: UpstreamError | None) -> None:
        revision, replica, router = self.revision, self.replica, self.router
        assert revision is not None
        assert replica is not None
        revision.release(replica)
        if response is not None:
            self.client.reply(
                response_bytes(response.status, response.reason, response.headers,
                               response.body, revision.label, self.request.keep_alive,
                               head=self.request.method == b"HEAD")
            )  # fmt: skip
            if router.logger is not None and router.logger.mode != "request":
                router.log_body(self, "response", response.body, response.content_type)
            if revision.first_request is not None:
                router.first_request(self, revision, response.status)
            router.finished(self, response.status, revision.name)
            return
        assert error is not None
        self.revision = self.replica = None
        self.attempts += 1
        if error.retryable and self.attempts < ATTEMPTS:
            router.spawn(self)
            return
        router.reply_error(self, 502, f"{error} (revision {revision.name})", revision.name)


class ServiceRouter:
    def __init__(
        self,
        key: ServiceKey,
        *,
        events: FleetEvents,
        cold_start_timeout: float,
        logger: LoggerPlan | None = None,
        metrics: RequestMetrics | None = None,
        window: TrafficWindow | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.key = key
        self.metrics = metrics
        self.window = window
        self.events = events
        self.cold_start_timeout = cold_start_timeout
        self.logger = logger
        self.revisions: dict[str, Revision] = {}
        self.traffic = Traffic(stable=None)
        self.split = Split()
        self.connections: set[FrontProtocol] = set()
        self.closed = False
        self.in_flight = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._drained: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """Something changed (a replica ready, room freed, traffic, a failure): waiting
        requests look again."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # requests --------------------------------------------------------------------------

    def handle(self, request: Request, client: FrontProtocol) -> None:
        if self.closed:
            client.reply(error_response(404, self._gone(), request.keep_alive))
            if self.metrics is not None:
                self.metrics.record(self.key, "", 404, 0.0)
            if self.window is not None:
                self.window.record(self.key, "", 404, 0.0)
            return
        self.in_flight += 1
        exchange = Exchange(self, request, client)
        choice = self.split.choose(self.traffic, self.revisions)
        if isinstance(choice, Revision):
            replica = choice.acquire()
            if replica is not None:
                exchange.revision = choice
                exchange.replica = replica
                self._log_request(exchange)
                connection = replica.pool.take()
                if connection is not None:
                    connection.send(exchange.data, exchange.done)
                    return
        self.spawn(exchange, choice)

    def spawn(self, exchange: Exchange, choice: Revision | str | None = None) -> None:
        """Route ``exchange`` on the slow path, to ``choice`` if the split made one."""
        task = self.loop.create_task(self.forward(exchange, choice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def forward(self, exchange: Exchange, choice: Revision | str | None = None) -> None:
        """The slow path: wait for a replica and/or open a connection, then send."""
        try:
            await self._forward(exchange, choice)
        except Exception:  # a bug must not leave the client without an answer
            log.exception("routing a request of InferenceService %s failed", self.key)
            if exchange.revision is not None and exchange.replica is not None:
                exchange.revision.release(exchange.replica)
            self.reply_error(exchange, 500, f"the router of InferenceService {self.key} failed")

    async def _forward(self, exchange: Exchange, choice: Revision | str | None) -> None:
        while True:
            if exchange.replica is None:
                failure = await self._acquire(exchange, choice)
                choice = None
                if failure is not None:
                    self.reply_error(exchange, *failure)
                    return
                self._log_request(exchange)
            revision, replica = exchange.revision, exchange.replica
            assert revision is not None
            assert replica is not None
            connection = replica.pool.take()
            if connection is None:
                try:
                    connection = await replica.pool.connect()
                except UpstreamError as exc:
                    revision.release(replica)
                    revision.unreachable(replica, str(exc))
                    exchange.revision = exchange.replica = None
                    exchange.attempts += 1
                    if exchange.attempts >= ATTEMPTS:
                        self.reply_error(exchange, 502, str(exc), revision.name)
                        return
                    continue
            connection.send(exchange.data, exchange.done)
            return

    async def _acquire(
        self, exchange: Exchange, choice: Revision | str | None
    ) -> tuple[int, str] | None:
        """Route ``exchange`` to a replica (of ``choice`` first, if the split made one),
        waiting while none can take it; or (status, why) when it cannot be served."""
        deadline = self.loop.time() + self.cold_start_timeout
        waiting_on: Revision | None = None
        try:
            while True:
                if self.closed:
                    return 404, self._gone()
                if choice is None:
                    choice = self.split.choose(self.traffic, self.revisions)
                if isinstance(choice, str):
                    return 503, choice
                if choice is not None:
                    replica = choice.acquire()
                    if replica is not None:
                        exchange.revision, exchange.replica = choice, replica
                        return None
                if choice is not waiting_on:
                    if waiting_on is not None:
                        waiting_on.end_wait()
                    waiting_on = choice
                    if choice is not None:
                        choice.begin_wait()
                remaining = deadline - self.loop.time()
                if remaining <= 0:
                    which = f"revision {choice.name}" if choice is not None else "a revision"
                    return 503, (
                        f"InferenceService {self.key}: no replica of {which} could take the "
                        f"request within {self.cold_start_timeout:g} s"
                    )
                waiter = self.loop.create_future()
                self._waiters.append(waiter)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, remaining)
                choice = None
        finally:
            if waiting_on is not None:
                waiting_on.end_wait()

    def reply_error(
        self, exchange: Exchange, status: int, message: str, revision: str = ""
    ) -> None:
        exchange.client.reply(
            error_response(status, message, exchange.request.keep_alive, revision)
        )
        self.finished(exchange, status, revision)

    def finished(self, exchange: Exchange, status: int, revision: str) -> None:
        if self.metrics is not None or self.window is not None:
            elapsed = self.loop.time() - exchange.started
            if self.metrics is not None:
                self.metrics.record(self.key, revision, status, elapsed)
            if self.window is not None:
                self.window.record(self.key, revision, status, elapsed)
        self.in_flight -= 1
        if self.in_flight == 0 and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def first_request(self, exchange: Exchange, revision: Revision, status: int) -> None:
        """``exchange`` is the first request ``revision`` answered: a span of the trace
        that made the revision (see `headrace_serving.revisions.tracing`)."""
        traced, revision.first_request = revision.first_request, None
        assert traced is not None
        request = exchange.request
        elapsed = self.loop.time() - exchange.started
        traced.first_request(request.method, request.url, request.headers, status, elapsed)

    def _gone(self) -> str:
        return f"InferenceService {self.key} is not found: it has been deleted"

    # logger ----------------------------------------------------------------------------

    def _log_request(self, exchange: Exchange) -> None:
        logger = self.logger
        if logger is None or exchange.request_id:
            return
        request = exchange.request
        exchange.request_id = request.request_id.decode() or uuid.uuid4().hex
        if logger.mode != "response":
            self.log_body(exchange, "request", request.body, request.content_type)

    def log_body(
        self, exchange: Exchange, kind: LoggedKind, body: bytes, content_type: bytes
    ) -> None:
        assert exchange.revision is not None
        self.loop.call_soon(
            self.events.logged, self.key, exchange.revision.name, kind, exchange.request_id,
            body, content_type.decode() or "application/octet-stream",
        )  # fmt: skip

    # close -----------------------------------------------------------------------------

    async def drain(self) -> None:
        """New requests get 404 from now on; wait for the ones in flight."""
        self.closed = True
        self.notify()
        if self.in_flight:
            self._drained = self.loop.create_future()
            await self._drained
