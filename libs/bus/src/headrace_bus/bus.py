"""The bus a service talks through: publish, consume with a durable consumer, query.

Built on a FastStream :class:`NatsBroker` (connection, reconnects) and nats-py (JetStream
management, the pull loops of :mod:`.puller`, request/reply). Tracing and the CloudEvents
envelope are applied here and in :mod:`.dispatcher`, never in handler code.

The connection belongs to the event loop that connected it. A coroutine running on another
thread's loop (a service's handlers run there, see ``headrace_runtime.threads``) may still
publish, ask and gather: those calls are carried over to the bus's loop (:meth:`Bus.on_loop`)
and their results back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import nats.errors
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from headrace_contracts import (
    CATALOGUE,
    Catalogue,
    ContractError,
    Envelope,
    Message,
    Query,
    Reply,
    decode,
    encode,
)
from headrace_contracts.wire import REPLY_ERROR_HEADER
from headrace_telemetry import inject, publish_attributes, publish_span_name

from .config import BusConfig
from .dispatcher import BatchFactory, Dispatcher, GiveUp, Handler, Runner
from .errors import NoResponders, RequestFailed, RequestTimeout
from .external import ExternalDispatcher, ExternalHandler
from .puller import Puller
from .streams import ensure_consumer, ensure_streams

R = TypeVar("R", bound=Reply)
T = TypeVar("T")
M = TypeVar("M", bound=Message)
Q = TypeVar("Q", bound=Query)
Responder = Callable[[Any], Awaitable[Reply | None]]

ERROR_HEADER = REPLY_ERROR_HEADER
log = logging.getLogger("headrace.bus")


class Bus:
    """One connection to NATS for one service process."""

    def __init__(
        self,
        config: BusConfig,
        *,
        source: str,
        tracer: Tracer | None = None,
        catalogue: Catalogue = CATALOGUE,
    ) -> None:
        self.config = config
        self.source = source
        self.tracer = tracer or trace.get_tracer("headrace.bus")
        self.catalogue = catalogue
        self._broker = NatsBroker(
            config.url,
            name=config.client_name,
            connect_timeout=max(int(config.connect_timeout), 1),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            log_level=logging.DEBUG,
            logger=logging.getLogger("headrace.faststream"),
        )
        self._dispatchers: list[tuple[Dispatcher, int]] = []
        self._external: list[ExternalDispatcher] = []
        self._pullers: list[Puller] = []
        self._responders: list[tuple[str, str, Callable[[Msg], Awaitable[None]]]] = []
        self._subscriptions: list[Any] = []
        self._jetstream: JetStreamContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self.on_dead_letter: Callable[[str, str], None] | None = None
        """Called with (CloudEvents type, reason) each time a message is dead-lettered."""
        self.on_published: Callable[[str], None] | None = None
        """Called with the CloudEvents type of each event or command stored in the domain
        stream (not for dead letters)."""

    # lifecycle -------------------------------------------------------------------------

    @property
    def connection(self) -> Client:
        return self._broker.connection

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context of the connection, made once (not on every publish)."""
        if self._jetstream is None:
            self._jetstream = self.connection.jetstream()
        return self._jetstream

    async def connect(self) -> None:
        """Connect and declare the streams; consumers and responders start in :meth:`start`."""
        await self._broker.connect()
        self._loop = asyncio.get_running_loop()
        self._jetstream = None  # a new connection, a new context
        await ensure_streams(self.jetstream, self.config, self.catalogue)

    async def on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await ``coroutine`` on the loop that owns the connection: here if the caller runs
        on it, else carried over to it (in a copy of the caller's context, so its trace
        context goes along) and awaited from the caller's loop."""
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop():
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    def _elsewhere(self) -> bool:
        """Whether the caller runs on another loop than the connection's."""
        return self._loop is not None and self._loop is not asyncio.get_running_loop()

    async def start(self) -> None:
        js = self.jetstream
        for dispatcher, workers in self._dispatchers:
            await ensure_consumer(js, self.config, dispatcher.durable, dispatcher.subjects)
            self._pullers.append(
                Puller(
                    self.connection,
                    self.config.stream,
                    dispatcher.handle_batch,
                    name=dispatcher.durable,
                    batch_size=self.config.batch_size,
                    poll=self.config.fetch_timeout,
                    workers=workers,
                    prefetch=dispatcher.prefetch,
                    ack_wait=self.config.ack_wait,
                )
            )
        for external in self._external:
            await ensure_consumer(
                js,
                self.config,
                external.durable,
                external.subjects,
                stream=self.config.external_stream,
            )
            self._pullers.append(
                Puller(
                    self.connection,
                    self.config.external_stream,
                    external.handle_batch,
                    name=external.durable,
                    batch_size=self.config.batch_size,
                    poll=self.config.fetch_timeout,
                )
            )
        for subject, queue, callback in self._responders:
            self._subscriptions.append(
                await self.connection.subscribe(subject, queue=queue, cb=callback)
            )
        await self._broker.start()
        # The server has every subscription before start returns: a query sent right after
        # (from another connection) finds its responder.
        await self.connection.flush()
        for puller in self._pullers:
            puller.start()
        self._started = True

    async def pending(self, durable: str, *, stream: str = "") -> int:
        """How many messages of ``stream`` (the domain stream by default) the durable
        consumer ``durable`` has not had acknowledged yet: not delivered, plus delivered and
        not acknowledged."""
        if self._elsewhere():
            return await self.on_loop(self.pending(durable, stream=stream))
        js = self.connection.jetstream()
        info = await js.consumer_info(stream or self.config.stream, durable)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def close(self) -> None:
        """Stop consuming, finish in-flight handlers, flush, disconnect."""
        for puller in self._pullers:
            await puller.close()
        self._pullers.clear()
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subscriptions.clear()
        with contextlib.suppress(Exception):
            await self._broker.stop()
        self._jetstream = None

    # consuming -------------------------------------------------------------------------

    def consume(
        self,
        durable: str,
        handlers: Mapping[type[Message], Handler],
        *,
        max_workers: int = 1,
        give_ups: Mapping[type[Message], GiveUp] | None = None,
        batch: BatchFactory | None = None,
        run: Runner | None = None,
    ) -> Dispatcher:
        """Handle ``handlers`` through the durable pull consumer ``durable``.

        ``give_ups`` maps a message type to the hook run before one of its messages is
        dead-lettered (see :mod:`headrace_bus.dispatcher`). With ``batch``, the messages of
        one fetch (up to ``BusConfig.batch_size``) are handled in one transaction it makes;
        without it, one at a time.

        Every replica that registers the same durable shares its messages. With
        ``max_workers`` > 1 this replica handles that many batches at once (for handlers
        that wait on long work, such as running a step).

        ``run(fn)`` is where handlers, batches and give-up hooks run (``await fn()`` by
        default, on this loop); fetching, decoding, spans and acknowledgements stay here.
        Given a ``run``, the next batch is fetched while one is handled (see
        :mod:`.puller`).
        """
        if self._started:
            raise RuntimeError("register consumers before Bus.start()")
        for message in handlers:
            if message.KIND not in ("event", "command"):
                raise TypeError(f"{message.__name__} is a {message.KIND}: use Bus.respond()")
        dispatcher = Dispatcher(
            self,
            durable,
            handlers,
            self.config.retry,
            self.catalogue,
            self.config.ack_wait,
            give_ups=give_ups,
            batch=batch,
            run=run,
        )
        self._dispatchers.append((dispatcher, max_workers))
        return dispatcher

    def consume_external(
        self,
        durable: str,
        subjects: list[str],
        handler: ExternalHandler,
        *,
        run: Runner | None = None,
    ) -> ExternalDispatcher:
        """Hand other systems' CloudEvents on ``subjects`` (under ``headrace.ext.``, in the
        stream ``BusConfig.external_stream``) to ``handler``, through the durable pull
        consumer ``durable`` that every replica registering it shares; ``run`` as in
        :meth:`consume`."""
        if self._started:
            raise RuntimeError("register consumers before Bus.start()")
        prefix = f"{self.config.external_prefix}."
        outside = [s for s in subjects if not s.startswith(prefix)]
        if outside:
            raise ValueError(f"external subjects must be under {prefix}: {outside}")
        dispatcher = ExternalDispatcher(
            self, durable, subjects, handler, self.config.retry, self.config.ack_wait, run=run
        )
        self._external.append(dispatcher)
        return dispatcher

    def listen(self, message: type[M], handler: Callable[[Envelope[M]], Awaitable[None]]) -> None:
        """Give every replica of this service each ``message`` as it is published.

        Not durable and not shared: a core NATS subscription to the message's subject, for
        signals every replica must see (such as "stop this step", which only the replica
        running it can act on). Durable handling goes through :meth:`consume`.
        """
        if message.KIND not in ("event", "command", "telemetry"):
            raise TypeError(f"{message.__name__} is a {message.KIND}: use Bus.respond()")

        async def callback(msg: Msg) -> None:
            try:
                envelope = decode(msg.headers, msg.data, self.catalogue, subject=msg.subject)
            except ContractError as exc:
                log.warning("ignoring invalid %s broadcast: %s", message.__name__, exc)
                return
            if not isinstance(envelope.message, message):
                return
            try:
                await handler(envelope)  # type: ignore[arg-type]  # checked just above
            except Exception:
                log.exception("listener for %s failed", message.__name__)

        self._responders.append((message.subject(), "", callback))

    # publishing ------------------------------------------------------------------------

    async def publish(
        self, message: Message, *, event_id: str | None = None, ce_subject: str | None = None
    ) -> str:
        """Publish an event or command durably; returns its event id."""
        if message.KIND not in ("event", "command"):
            other = "Bus.broadcast()" if message.KIND == "telemetry" else "Bus.request()"
            raise TypeError(f"{type(message).__name__} is a {message.KIND}: use {other}")
        if self._elsewhere():
            return await self.on_loop(
                self.publish(message, event_id=event_id, ce_subject=ce_subject)
            )
        subject, data, headers = encode(
            message, source=self.source, event_id=event_id, ce_subject=ce_subject
        )
        # The span is injected into the headers but not made current: nothing runs under it
        # (entering and leaving a context costs more than the span itself). Its attributes
        # are set only if it is recorded.
        span = self.tracer.start_span(publish_span_name(subject), kind=SpanKind.PRODUCER)
        if span.is_recording():
            span.set_attributes(
                publish_attributes(
                    subject,
                    message_id=headers["ce-id"],
                    ce_type=headers["ce-type"],
                    body_size=len(data),
                    client_id=self.source,
                )
            )
        inject(headers, trace.set_span_in_context(span))
        try:
            await self.publish_raw(subject, data, headers, stream=self.config.stream)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            span.end()
        return headers["ce-id"]

    async def broadcast(self, message: Message) -> None:
        """Publish a `Telemetry` message over core NATS: not stored, not retried; whoever
        listens now receives it (a lost one is superseded by the next)."""
        if message.KIND != "telemetry":
            raise TypeError(f"{type(message).__name__} is a {message.KIND}: use Bus.publish()")
        if self._elsewhere():
            return await self.on_loop(self.broadcast(message))
        subject, data, headers = encode(message, source=self.source)
        await self.connection.publish(subject, data, headers=headers)

    async def publish_raw(
        self, subject: str, data: bytes, headers: dict[str, str], *, stream: str
    ) -> None:
        """Publish bytes to a stream, retrying while NATS is unreachable.

        ``Nats-Msg-Id`` in ``headers`` makes the retries safe: JetStream keeps one copy.
        """
        if self._elsewhere():
            return await self.on_loop(self.publish_raw(subject, data, headers, stream=stream))
        js = self.jetstream
        delay = 0.1
        for attempt in range(1, self.config.publish_attempts + 1):
            try:
                await js.publish(
                    subject,
                    data,
                    headers=headers,
                    stream=stream,
                    timeout=self.config.publish_timeout,
                )
                if self.on_published is not None and stream == self.config.stream:
                    self.on_published(headers.get("ce-type", ""))
                return
            except (
                nats.errors.TimeoutError,
                nats.errors.NoRespondersError,
                nats.errors.ConnectionReconnectingError,
                nats.errors.OutboundBufferLimitError,
                NoStreamResponseError,
            ) as exc:
                if attempt == self.config.publish_attempts:
                    raise
                log.warning("publish to %s failed (%s); retrying in %.1fs", subject, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    # queries ---------------------------------------------------------------------------

    def respond(
        self, query: type[Q], responder: Callable[[Q], Awaitable[Reply | None]], *, queue: str = ""
    ) -> None:
        """Answer ``query`` over core request/reply. With ``queue`` one replica answers.

        A responder that returns ``None`` stays silent (the query was not for it).
        """

        async def callback(msg: Msg) -> None:
            try:
                envelope = decode(msg.headers, msg.data, self.catalogue, subject=msg.subject)
                if not isinstance(envelope.message, query):
                    raise ContractError(f"{msg.subject} answers {query.ce_type()} only")
                reply = await responder(envelope.message)
                if reply is None:
                    return
                body, headers = reply.model_dump_json().encode(), {}
                limit = self.connection.max_payload
                if len(body) > limit:  # NATS would refuse it and the asker would time out
                    size, body = len(body), b""
                    headers = {
                        ERROR_HEADER: f"the answer is {size} bytes, over the NATS server's "
                        f"max_payload of {limit} bytes: ask for less (a smaller limit or "
                        "fewer items), or raise the server's max_payload"
                    }
                    log.warning("query %s: %s", msg.subject, headers[ERROR_HEADER])
            except Exception as exc:
                log.warning("query %s failed: %s", msg.subject, exc)
                body = b""
                headers = {ERROR_HEADER: " ".join(f"{type(exc).__name__}: {exc}".split())}
            if msg.reply:
                with contextlib.suppress(Exception):
                    await self.connection.publish(msg.reply, body, headers=headers or None)

        self._responders.append((query.subject(), queue, callback))

    def _encode_query(self, query: Query) -> tuple[str, bytes, dict[str, str]]:
        subject, data, headers = encode(query, source=self.source)
        inject(headers)
        return subject, data, headers

    async def request(self, query: Query, *, timeout: float = 2.0) -> Reply:
        """Ask one responder; returns its reply decoded into ``query.REPLY``."""
        if self._elsewhere():
            return await self.on_loop(self.request(query, timeout=timeout))
        subject, data, headers = self._encode_query(query)
        try:
            msg = await self.connection.request(subject, data, timeout=timeout, headers=headers)
        except nats.errors.NoRespondersError:
            raise NoResponders(subject) from None
        except nats.errors.TimeoutError:
            raise RequestTimeout(subject, timeout) from None
        return _decode_reply(query, msg)

    async def gather(
        self, query: Query, *, timeout: float = 0.5, expected: int | None = None
    ) -> list[Reply]:
        """Ask every responder; collect replies for ``timeout`` s (or until ``expected``)."""
        if self._elsewhere():
            return await self.on_loop(self.gather(query, timeout=timeout, expected=expected))
        subject, data, headers = self._encode_query(query)
        inbox = self.connection.new_inbox()
        replies: list[Reply] = []
        done = asyncio.Event()

        async def collect(msg: Msg) -> None:
            if msg.headers and msg.headers.get("Status") == "503":
                return
            with contextlib.suppress(RequestFailed, ContractError, ValueError):
                replies.append(_decode_reply(query, msg))
            if expected is not None and len(replies) >= expected:
                done.set()

        sub = await self.connection.subscribe(inbox, cb=collect)
        try:
            await self.connection.publish(subject, data, reply=inbox, headers=headers)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
        finally:
            await sub.unsubscribe()
        return replies


def _decode_reply(query: Query, msg: Msg) -> Reply:
    error = (msg.headers or {}).get(ERROR_HEADER)
    if error:
        raise RequestFailed(f"{query.subject()}: {error}")
    return query.REPLY.model_validate_json(msg.data)


__all__ = ["Bus", "Envelope"]
