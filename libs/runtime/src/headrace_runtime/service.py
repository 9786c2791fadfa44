"""A Headrace service process: one bootstrap, one bus, one database, one lifecycle.

A service declares its handlers and query responders, then :meth:`Service.run` builds
everything from settings, consumes through its durable consumer (shared by all its
replicas), answers ``Ping``, and on SIGTERM/SIGINT drains and exits.

The messages of one fetch are handled in one transaction (`batch.BatchTransaction`), unless
the service says its handlers run long work (``batch=False``): then each message has its own.

A handler may come with a *give-up* function: when the bus gives up on one of its messages
(an error that is not retryable, or retries used up), the runtime runs
``on_give_up(message, ctx, dead_letter)`` in a transaction of its own, with the same outbox,
before the message goes to the dead-letter stream. That is where a service ends what the
message belonged to (the scheduler fails the run), so nothing waits forever on a message
that only the dead-letter stream remembers.

Database work runs off the event loop (`headrace_runtime.threads`). A service that batches
(the default) runs its handlers, batches, give-up hooks and outbox relay on one *handling
thread* with an event loop of its own: handlers interleave at their ``await`` points only, as
they did on the main loop, and the one thread is the service's one writer (what SQLite
wants). Its query responders run on a small pool of *query threads* (reads, side by side), so
a slow query never holds up handling and handling never holds up a query. The main loop keeps
the bus: fetching, decoding, heartbeats, acknowledgements (after the commit), publishing,
``Ping``. A service with ``threaded=False`` (by default one with ``batch=False``, whose
handlers wait on long work and use objects of the main loop) runs them all on the main loop.

Each replica also forgets, every ``processed_prune_interval_seconds``, the handled-message
records older than ``processed_retain_seconds`` (`processed.ProcessedPruner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from headrace_bus import Bus, DeadLetter, StreamConfigError
from headrace_contracts import Envelope, Message, Ping, Pong, Query, Reply, derive_event_id
from headrace_contracts.external import ExternalEvent
from headrace_telemetry import build_tracer_provider
from headrace_telemetry.metrics import (
    HOST_SETTING,
    PORT_SETTING,
    Metrics,
    MetricsSettingError,
    start_metrics,
)

from .batch import BatchTransaction
from .context import HandlerContext, flush_pending
from .database import build_engine, create_tables
from .heap import settle_heap
from .metrics import HandlingMetrics, follow_lag
from .outbox import OutboxRelay
from .processed import ProcessedPruner
from .settings import Settings, SettingsError, load_settings
from .tables import RUNTIME_TABLES, OutboxMessage, ProcessedMessage, utcnow
from .threads import LoopPool, LoopThread, share_interpreter

M = TypeVar("M", bound=Message)
Q = TypeVar("Q", bound=Query)
HandlerFn = Callable[[Any, HandlerContext[Any]], Awaitable[None]]
ResponderFn = Callable[[Any], Awaitable[Reply | None]]
ListenerFn = Callable[[Any], Awaitable[None]]
HookFn = Callable[[], Awaitable[None]]
GiveUpFn = Callable[[Any, HandlerContext[Any], DeadLetter], Awaitable[None]]
ExternalFn = Callable[[ExternalEvent, HandlerContext[Any]], Awaitable[None]]

log = logging.getLogger("headrace.service")


class Service:
    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        tables: Sequence[type[SQLModel]] = (),
        version: str = "0.1.0",
        span_exporter: SpanExporter | None = None,
        metric_readers: Sequence[MetricReader] = (),
        concurrency: int = 1,
        batch: bool = True,
        threaded: bool | None = None,
        query_threads: int = 2,
    ) -> None:
        """``concurrency`` batches are handled at once; with ``batch`` False a batch is one
        message, for handlers that wait on long work (which must not hold a transaction).
        ``threaded`` (by default ``batch``): handlers and queries run off the event loop, on
        the handling thread and ``query_threads`` query threads (see the module docstring)."""
        if query_threads < 1:
            raise ValueError(f"{name}: query_threads must be at least 1, not {query_threads}")
        self.name = name
        self.concurrency = concurrency
        self.batch = batch
        self.threaded = batch if threaded is None else threaded
        self.query_threads = query_threads
        self.settings = settings
        self.version = version
        self.instance = settings.instance(name)
        self.source = f"headrace/{name}"
        self._tables = [*RUNTIME_TABLES, *tables]
        self._span_exporter = span_exporter
        self._metric_readers = tuple(metric_readers)
        self.metrics: Metrics | None = None
        self._lag_task: asyncio.Task[None] | None = None
        self._handlers: dict[type[Message], HandlerFn] = {}
        self._give_ups: dict[type[Message], GiveUpFn] = {}
        self._observed: set[type[Message]] = set()
        self._responders: list[tuple[type[Query], ResponderFn, bool, bool | None]] = []
        self._listeners: list[tuple[type[Message], ListenerFn]] = []
        self._external: tuple[list[str], ExternalFn] | None = None
        self._on_start: list[HookFn] = []
        self._on_stop: list[HookFn] = []
        self._started_at = ""
        self._stopping = asyncio.Event()
        self.engine: Engine | None = None
        self.bus: Bus | None = None
        self.tracer_provider: TracerProvider | None = None
        self._relay: OutboxRelay | None = None
        self._pruner: ProcessedPruner | None = None
        self._handling: LoopThread | None = None
        self._queries: LoopPool | None = None
        self.endpoints: dict[str, str] = {}
        """What this replica serves besides the bus (name -> URL), shown in its ``Pong``."""

    @property
    def meter(self) -> Meter:
        """This service's meter, for the instruments of its own work (from ``on_start`` on)."""
        if self.metrics is None:
            raise RuntimeError(f"{self.name} has not started: its meter is made by start()")
        return self.metrics.provider.get_meter(f"headrace.{self.name}", self.version)

    # declaration -----------------------------------------------------------------------

    def handles(
        self,
        message: type[M],
        *,
        on_give_up: GiveUpFn | None = None,
        observer: bool = False,
    ) -> Callable[[HandlerFn], HandlerFn]:
        """Register ``fn(message, ctx)`` for ``message``, run once per message id.

        ``on_give_up(message, ctx, dead_letter)`` runs, in its own transaction, when the
        message is about to be dead-lettered (see the module docstring). ``observer``: the
        service only records the message (a read model of a command another service carries
        out); :meth:`consumes` leaves it out, :meth:`observes` lists it.
        """

        def register(fn: HandlerFn) -> HandlerFn:
            if message in self._handlers:
                raise ValueError(f"{self.name} already handles {message.__name__}")
            self._handlers[message] = fn
            if observer:
                self._observed.add(message)
            if on_give_up is not None:
                self._give_ups[message] = on_give_up
            return fn

        return register

    def handles_external(self, subjects: Sequence[str]) -> Callable[[ExternalFn], ExternalFn]:
        """Register ``fn(event, ctx)`` for other systems' CloudEvents on ``subjects`` (under
        ``headrace.ext.``), any type, through the durable consumer ``<name>-ext`` that all
        replicas share. Like :meth:`handles`: one transaction with the outbox, run once per
        event (its ``ce-source`` and ``ce-id``, the CloudEvents identity)."""

        def register(fn: ExternalFn) -> ExternalFn:
            if self._external is not None:
                raise ValueError(f"{self.name} already handles external events")
            self._external = (list(subjects), fn)
            return fn

        return register

    @property
    def external_durable(self) -> str:
        return f"{self.name}-ext"

    def answers(
        self, query: type[Q], *, one_replica: bool = True, in_thread: bool | None = None
    ) -> Callable[[ResponderFn], ResponderFn]:
        """Register ``fn(query) -> Reply``; with ``one_replica`` a single replica answers.

        In a ``threaded`` service ``fn`` runs on a query thread, off the event loop, unless
        ``in_thread`` is False (for one that uses objects of the main loop); in one that is not,
        on the main loop."""

        def register(fn: ResponderFn) -> ResponderFn:
            self._responders.append((query, fn, one_replica, in_thread))
            return fn

        return register

    def listens(self, message: type[M]) -> Callable[[ListenerFn], ListenerFn]:
        """Register ``fn(message)`` run by *every* replica for each ``message`` (no retry)."""

        def register(fn: ListenerFn) -> ListenerFn:
            self._listeners.append((message, fn))
            return fn

        return register

    def on_start(self, fn: HookFn) -> HookFn:
        """Run ``fn()`` after the database and bus are ready, before consuming starts."""
        self._on_start.append(fn)
        return fn

    def on_stop(self, fn: HookFn) -> HookFn:
        """Run ``fn()`` at stop, once in-flight handlers have finished and the bus is closed."""
        self._on_stop.append(fn)
        return fn

    @property
    def durable(self) -> str:
        return self.name

    def consumes(self) -> frozenset[type[Message]]:
        """The message types this service consumes, as declared (no need to start it): the
        commands and events it handles (except those it only observes) or listens to, and the
        queries it answers. ``Ping`` is not among them: every service answers it, on its own
        behalf (see ``_pong``)."""
        return frozenset(
            [
                *(m for m in self._handlers if m not in self._observed),
                *(message for message, _ in self._listeners),
                *(query for query, _, _, _ in self._responders),
            ]
        )

    def observes(self) -> frozenset[type[Message]]:
        """The message types this service handles only to record them (``observer``)."""
        return frozenset(self._observed)

    # lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._started_at = datetime.now(UTC).isoformat()
        self.tracer_provider = build_tracer_provider(
            self.name, instance_id=self.instance, exporter=self._span_exporter
        )
        self.metrics = start_metrics(
            self.name,
            instance_id=self.instance,
            env={
                PORT_SETTING: self.settings.metrics_port,
                HOST_SETTING: self.settings.metrics_host,
            },
            readers=self._metric_readers,
        )
        if self.metrics.url:
            self.endpoints["metrics"] = self.metrics.url
        handling = HandlingMetrics(self.meter)
        self._handlers = {m: handling.timed(m.ce_type(), fn) for m, fn in self._handlers.items()}
        self.engine = build_engine(self.settings.database_url_for(self.name), self.name)
        create_tables(self.engine, self._tables)
        if self.threaded:
            self._handling = LoopThread(f"{self.name}-handling")
            self._queries = LoopPool(f"{self.name}-query", self.query_threads)
        run = self._handling.call if self._handling is not None else None
        bus_config = self.settings.bus_config(self.name)
        if not self.batch:
            bus_config = dataclasses.replace(bus_config, batch_size=1)
        self.bus = Bus(
            bus_config,
            source=self.source,
            tracer=self.tracer_provider.get_tracer(f"headrace.{self.name}"),
        )
        self.bus.on_dead_letter = handling.dead_lettered
        self.bus.on_published = handling.published
        await self.bus.connect()
        if self._handlers:
            self.bus.consume(
                self.durable,
                {m: self._wrap(m, fn) for m, fn in self._handlers.items()},
                max_workers=self.concurrency,
                give_ups={m: self._wrap_give_up(m, fn) for m, fn in self._give_ups.items()},
                batch=self._batch if self.batch else None,
                run=run,
            )
        if self._external is not None:
            subjects, external = self._external
            self.bus.consume_external(
                self.external_durable, subjects, self._wrap_external(external), run=run
            )
        for message, listener in self._listeners:
            self.bus.listen(message, self._listener(listener))
        self.bus.respond(Ping, self._pong)
        for query, fn, one, in_thread in self._responders:
            answer = self._in_query_thread(fn) if in_thread is not False else fn
            self.bus.respond(query, answer, queue=self.name if one else "")
        self._relay = OutboxRelay(
            self.bus, self.engine, interval=self.settings.outbox_interval, run=run
        )
        await self._relay.sweep()
        for hook in self._on_start:
            await hook()
        await self.bus.start()
        self._relay.start()
        self._lag_task = self._follow_lag(self.bus, handling)
        self._pruner = ProcessedPruner(
            self.engine,
            [self.durable, self.external_durable],
            retain_seconds=self.settings.processed_retain_seconds,
            interval=self.settings.processed_prune_interval_seconds,
            batch=self.settings.processed_prune_batch,
        )
        self._pruner.start()
        log.info(
            "%s started (%s), consuming %d message types",
            self.name,
            self.instance,
            len(self._handlers),
        )

    async def stop(self) -> None:
        """Drain: stop fetching, let in-flight handlers finish, flush the outbox, close."""
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
            self._lag_task = None
        if self._pruner:
            await self._pruner.stop()
        if self.bus:
            await self.bus.close()
        for hook in self._on_stop:
            try:
                await hook()
            except Exception:
                log.exception("%s: stop hook %s failed", self.name, hook)
        if self._relay:
            await self._relay.stop()
        for threads in (self._handling, self._queries):
            if threads is not None:
                await threads.close()
        self._handling = self._queries = None
        if self.engine:
            self.engine.dispose()
        if self.tracer_provider:
            self.tracer_provider.shutdown()
        if self.metrics:
            self.metrics.shutdown()
            self.endpoints.pop("metrics", None)
        log.info("%s stopped", self.instance)

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Start, serve until SIGTERM or SIGINT, then stop cleanly. The process is this
        service's own: once started, its heap is settled (see `headrace_runtime.heap`) and
        its threads take turns on the interpreter quickly (`threads.share_interpreter`)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        settle_heap()
        share_interpreter()
        try:
            await self._stopping.wait()
        finally:
            await self.stop()

    # internals -------------------------------------------------------------------------

    def _follow_lag(self, bus: Bus, handling: HandlingMetrics) -> asyncio.Task[None] | None:
        """The task reading this service's durable consumers' lag, if it has any."""
        streams = {}  # durable consumer -> its stream
        if self._handlers:
            streams[self.durable] = bus.config.stream
        if self._external is not None:
            streams[self.external_durable] = bus.config.external_stream
        if not streams:
            return None

        async def pending(consumer: str) -> int:
            return await bus.pending(consumer, stream=streams[consumer])

        return asyncio.create_task(
            follow_lag(handling, list(streams), pending, self.settings.metrics_lag_interval),
            name=f"{self.name}-consumer-lag",
        )

    async def _pong(self, ping: Ping) -> Reply | None:
        if ping.service and ping.service != self.name:
            return None
        return Pong(
            service=self.name,
            instance=self.instance,
            pid=os.getpid(),
            host=socket.gethostname(),
            version=self.version,
            started_at=self._started_at,
            healthy=self.bus is not None and self.bus.connection.is_connected,
            consumer=self.durable if self._handlers else "",
            endpoints=dict(self.endpoints),
        )

    _table = ProcessedMessage.__table__  # type: ignore[attr-defined]
    _seen = select(_table.c.event_id).where(
        _table.c.consumer == bindparam("c"), _table.c.event_id == bindparam("e")
    )
    _mark = insert(_table)

    def _wrap(self, message: type[Message], fn: HandlerFn) -> Callable[[Envelope[Any]], Any]:
        async def handle(envelope: Envelope[Any]) -> None:
            assert self.engine is not None
            assert self._relay is not None
            with Session(self.engine, expire_on_commit=False) as session:
                # Without batches _handled gives the connection back: a handler that waits on
                # long work (a running step) must not hold a pooled connection or a snapshot.
                if self._handled(session, envelope.id, release=not self.batch):
                    log.info("%s: %s %s already handled", self.name, envelope.type, envelope.id)
                    return
                ctx: HandlerContext[Any] = HandlerContext(
                    envelope=envelope, session=session, source=self.source, service=self.name
                )
                await fn(envelope.message, ctx)
                flush_pending(session)
                session.flush()
                session.connection().execute(
                    self._mark,
                    {"consumer": self.durable, "event_id": envelope.id, "processed_at": utcnow()},
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    if not self._handled(session, envelope.id):
                        raise  # another row's key clashed: not handled, so try it again
                    log.info("%s: %s handled concurrently elsewhere", self.name, envelope.id)
                    return
            await self._publish_committed(ctx.outbox)

        handle.__name__ = f"handle_{message.__name__}"
        return handle

    def _wrap_external(self, fn: ExternalFn) -> Callable[[ExternalEvent], Awaitable[None]]:
        async def handle(event: ExternalEvent) -> None:
            assert self.engine is not None
            key = derive_event_id(event.source, event.id)  # CloudEvents: source + id is unique
            envelope: Envelope[Any] = Envelope(
                message=cast(Any, event),
                id=key,
                source=event.source,
                type=event.type,
                time=event.time,
                subject=event.nats_subject,
            )
            consumer = self.external_durable
            with Session(self.engine, expire_on_commit=False) as session:
                if self._handled(session, key, consumer=consumer):
                    log.info("%s: external %s %s already handled", self.name, event.type, event.id)
                    return
                ctx: HandlerContext[Any] = HandlerContext(
                    envelope=envelope, session=session, source=self.source, service=self.name
                )
                await fn(event, ctx)
                flush_pending(session)
                session.flush()
                session.connection().execute(
                    self._mark, {"consumer": consumer, "event_id": key, "processed_at": utcnow()}
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    if not self._handled(session, key, consumer=consumer):
                        raise
                    return
            await self._publish_committed(ctx.outbox)

        return handle

    def _batch(self, envelopes: Sequence[Envelope[Any]]) -> BatchTransaction:
        assert self.engine is not None
        return BatchTransaction(
            engine=self.engine,
            consumer=self.durable,
            source=self.source,
            service=self.name,
            handlers=self._handlers,
            publish=self._publish_committed,
            envelopes=envelopes,
        )

    def _handled(
        self, session: Session, event_id: str, *, consumer: str = "", release: bool = True
    ) -> bool:
        """Whether this consumer has recorded ``event_id`` as handled (by any replica); with
        ``release``, ends the session's transaction. Core statements, not the ORM: this runs
        for every message."""
        found = session.connection().execute(
            self._seen, {"c": consumer or self.durable, "e": event_id}
        )
        handled = found.first() is not None
        if release:
            session.rollback()
        return handled

    def _in_query_thread(self, fn: ResponderFn) -> ResponderFn:
        """``fn`` run on a query thread when the service has them (from start on)."""

        async def answer(query: Any) -> Reply | None:
            if self._queries is None:
                return await fn(query)
            return await self._queries.call(fn, query)

        return answer

    async def _publish_committed(self, rows: list[OutboxMessage]) -> None:
        """Publish what a committed transaction wrote to the outbox. The message is handled
        whatever happens here: rows that cannot be sent now are sent by the relay's sweep."""
        assert self._relay is not None
        try:
            await self._relay.send(rows)
        except Exception:
            log.warning("%s: publishing after commit failed; the outbox sweep will", self.name)

    def _wrap_give_up(
        self, message: type[Message], fn: GiveUpFn
    ) -> Callable[[Envelope[Any], DeadLetter], Awaitable[None]]:
        async def give_up(envelope: Envelope[Any], dead: DeadLetter) -> None:
            assert self.engine is not None
            assert self._relay is not None
            with Session(self.engine, expire_on_commit=False) as session:
                ctx: HandlerContext[Any] = HandlerContext(
                    envelope=envelope, session=session, source=self.source, service=self.name
                )
                await fn(envelope.message, ctx, dead)
                flush_pending(session)
                session.commit()
            await self._publish_committed(ctx.outbox)

        give_up.__name__ = f"give_up_{message.__name__}"
        return give_up

    @staticmethod
    def _listener(fn: ListenerFn) -> Callable[[Envelope[Any]], Awaitable[None]]:
        async def listen(envelope: Envelope[Any]) -> None:
            await fn(envelope.message)

        return listen


def run_service(build: Callable[[Settings], Service]) -> None:
    """The console entrypoint body shared by every service; a wrong setting, stream limits
    the NATS server refuses, or a metrics port that cannot be used end it at once with one
    line saying which."""
    program = os.path.basename(sys.argv[0])
    try:
        settings = load_settings()
        service = build(settings)  # reads the service's own settings, if it has any
    except SettingsError as exc:
        raise SystemExit(f"{program}: {exc}") from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(service.run())
    except (StreamConfigError, MetricsSettingError) as exc:  # say which setting, in one line
        raise SystemExit(f"{program}: {exc}") from None
