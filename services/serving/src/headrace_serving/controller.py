"""The controller: makes the data plane match the rows, and records what the data plane
reports. One task works through a queue in order: ``reconcile`` a service (after a handler
committed a change, and for every live service at start) and the data plane's reports
(ready, failed, scaled), each recorded in a transaction of its own with its events written
to the outbox and published after commit."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, select

from headrace_bus import Bus
from headrace_contracts import (
    InferenceRequestLogged,
    InferenceResponseLogged,
    InferenceTrafficSummarized,
    Message,
    RevisionTraffic,
    derive_event_id,
    new_event_id,
)
from headrace_contracts.kubeflow import ManifestError, parse_inference_service
from headrace_runtime import OutboxRelay, outbox_row

from .changes import record_failed, record_ready, record_scaled, service_failed, updated
from .dataplane import Fleet, LoggerPlan, RevisionPlan, ServiceKey, Traffic
from .router.window import RevisionWindow
from .store import LIVE_REVISIONS, RevisionRow, ServiceRow, revisions_of, service_row

__all__ = ["Controller"]

log = logging.getLogger("headrace.serving")

Change = Callable[[Session, ServiceRow], list[Message]]


class Controller:
    def __init__(self, engine: Engine, relay: OutboxRelay, bus: Bus, source: str) -> None:
        self._engine = engine
        self._relay = relay
        self._bus = bus
        self._source = source
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._fleet: Fleet | None = None
        self._started: dict[ServiceKey, set[str]] = {}
        self._traffic: dict[ServiceKey, Traffic] = {}
        self._logs: set[asyncio.Task[None]] = set()

    # lifecycle -------------------------------------------------------------------------

    async def start(self, fleet: Fleet) -> None:
        """Work the queue, and reopen every live service and its revisions (a restart)."""
        self._fleet = fleet
        self._task = asyncio.create_task(self._work(), name="serving-controller")
        with Session(self._engine) as session:
            keys = [
                ServiceKey(row.namespace, row.name)
                for row in session.exec(select(ServiceRow).where(ServiceRow.state != "Deleted"))
            ]
        for key in keys:
            self.wake(key)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._logs):
            with contextlib.suppress(Exception):
                await task
        if self._fleet is not None:
            await self._fleet.aclose()

    def wake(self, key: ServiceKey) -> None:
        self._queue.put_nowait(lambda: self._reconcile(key))

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:
                log.exception("serving controller: a step failed")

    # FleetEvents (called on the event loop by the data plane) ---------------------------

    def revision_ready(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self._queue.put_nowait(
            lambda: self._record(key, lambda s, r: record_ready(s, r, revision, replicas))
        )

    def revision_failed(self, key: ServiceKey, revision: str, reason: str) -> None:
        self._queue.put_nowait(
            lambda: self._record(key, lambda s, r: record_failed(s, r, revision, reason))
        )

    def scaled(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self._queue.put_nowait(
            lambda: self._record(key, lambda s, r: record_scaled(s, r, revision, replicas))
        )

    def logged(
        self,
        key: ServiceKey,
        revision: str,
        kind: Literal["request", "response"],
        request_id: str,
        body: bytes,
        content_type: str,
    ) -> None:
        try:
            text, encoding = body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(body).decode("ascii"), "base64"
        kinds = {"request": InferenceRequestLogged, "response": InferenceResponseLogged}
        message = kinds[kind](
            service_name=key.name,
            namespace=key.namespace,
            revision=revision,
            request_id=request_id,
            content_type=content_type,
            body=text,
            body_encoding=encoding,
        )
        task = asyncio.get_running_loop().create_task(self._publish_log(message))
        self._logs.add(task)
        task.add_done_callback(self._logs.discard)

    def traffic(
        self, key: ServiceKey, window_seconds: float, revisions: list[RevisionWindow]
    ) -> None:
        message = InferenceTrafficSummarized(
            service_name=key.name,
            namespace=key.namespace,
            window_seconds=window_seconds,
            revisions=[
                RevisionTraffic(
                    revision=r.revision,
                    requests=r.requests,
                    errors=r.errors,
                    requests_per_second=round(r.per_second, 3),
                    p50_ms=round(r.p50 * 1000, 3),
                    p95_ms=round(r.p95 * 1000, 3),
                )
                for r in revisions
            ],
        )
        task = asyncio.get_running_loop().create_task(self._broadcast(message))
        self._logs.add(task)
        task.add_done_callback(self._logs.discard)

    async def _broadcast(self, message: Message) -> None:
        try:
            await self._bus.broadcast(message)
        except Exception as exc:  # telemetry lost is superseded by the next window
            log.warning("telemetry %s not published: %s", message.ce_type(), exc)

    async def _publish_log(self, message: Message) -> None:
        try:
            await self._bus.publish(message)
        except Exception as exc:  # a log line lost is logged, never blocks serving
            log.warning("logger event %s not published: %s", message.ce_type(), exc)

    # recording -------------------------------------------------------------------------

    async def _record(self, key: ServiceKey, change: Change) -> None:
        with Session(self._engine, expire_on_commit=False) as session:
            row = service_row(session, key.namespace, key.name)
            if row is None or row.state == "Deleted":
                return
            events = change(session, row)
            if not events and not session.dirty:
                return
            events.append(updated(session, row))
            cause = new_event_id()
            ids = []
            for position, message in enumerate(events):
                event_id = derive_event_id(cause, "serving", message.ce_type(), str(position))
                session.add(outbox_row(message, source=self._source, event_id=event_id))
                ids.append(event_id)
            session.commit()
        try:
            await self._relay.publish(ids)
        except Exception:
            log.warning("serving: publishing after commit failed; the outbox sweep will")
        await self._reconcile(key)

    # making the data plane match -------------------------------------------------------

    async def _reconcile(self, key: ServiceKey) -> None:
        fleet = self._fleet
        assert fleet is not None
        with Session(self._engine, expire_on_commit=False) as session:
            row = service_row(session, key.namespace, key.name)
            revisions = revisions_of(session, key.namespace, key.name) if row else []
        started = self._started.setdefault(key, set())
        if row is None or row.state == "Deleted":
            if key in self._traffic or started:
                await fleet.close_service(key)
            self._traffic.pop(key, None)
            self._started.pop(key, None)
            return
        live = [rev for rev in revisions if rev.state in LIVE_REVISIONS]
        if not live and not row.url:
            return  # nothing to serve yet (a spec that never loaded)
        try:
            url = await fleet.open_service(key, logger=_logger(row))
        except Exception as exc:
            why = f"the data plane cannot open its endpoint: {type(exc).__name__}: {exc}"
            await self._record(key, lambda s, r: service_failed(r, why) if r.error != why else [])
            return
        if url != row.url:
            await self._record(key, lambda s, r: _set_url(r, url))
            return  # _record reconciled with the URL recorded
        for rev in reversed(live):  # oldest first
            if rev.name in started:
                continue
            started.add(rev.name)
            try:
                await fleet.start_revision(key, _plan(rev))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                self.revision_failed(key, rev.name, reason)
        traffic = row.rollout.traffic
        if self._traffic.get(key) != traffic:
            await fleet.set_traffic(key, traffic)
            self._traffic[key] = traffic
        for rev in revisions:
            if rev.state not in LIVE_REVISIONS and rev.name in started:
                started.discard(rev.name)
                await fleet.retire_revision(key, rev.name)


def _set_url(row: ServiceRow, url: str) -> list[Message]:
    row.url = url
    return []


def _logger(row: ServiceRow) -> LoggerPlan | None:
    try:
        spec = parse_inference_service(row.document)
    except ManifestError:
        return None
    return LoggerPlan(mode=spec.logger.mode) if spec.logger else None


def _plan(rev: RevisionRow) -> RevisionPlan:
    fields = dict(rev.plan)
    for name in ("env", "requests", "limits", "trace_context"):
        fields[name] = dict(fields.get(name) or {})
    return RevisionPlan(**fields)
