"""Transactional outbox: a message is written in the same transaction as the state change
that caused it and published after commit, so a crash loses neither.

The relay publishes with ``Nats-Msg-Id`` = event id, so a row published twice (by a replica
sweeping at the same time, or after a crash between publish and delete) is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from opentelemetry.trace import SpanKind
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from headrace_bus import Bus
from headrace_contracts import Message, encode
from headrace_telemetry import extract, inject, publish_attributes, publish_span_name

from .tables import OutboxMessage, utcnow

log = logging.getLogger("headrace.outbox")


def outbox_row(message: Message, *, source: str, event_id: str) -> OutboxMessage:
    """Encode ``message`` now, capturing the current trace context for its publish span."""
    if message.KIND not in ("event", "command"):
        raise TypeError(f"{type(message).__name__} is a {message.KIND}; only events and commands")
    subject, data, headers = encode(message, source=source, event_id=event_id)
    inject(headers)
    return OutboxMessage(event_id=event_id, subject=subject, data=data, headers=headers)


class OutboxRelay:
    """Publishes committed outbox rows: right after each commit, and by a periodic sweep."""

    def __init__(self, bus: Bus, engine: Engine, *, interval: float = 1.0) -> None:
        self._bus = bus
        self._engine = engine
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def publish(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        with Session(self._engine) as session:
            rows = session.exec(
                select(OutboxMessage).where(col(OutboxMessage.event_id).in_(event_ids))
            ).all()
        await self._send(rows)

    async def sweep(self, *, min_age: float = 0.0, limit: int = 500) -> int:
        cutoff = utcnow() - timedelta(seconds=min_age)
        with Session(self._engine) as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.created_at) <= cutoff)
                .order_by(col(OutboxMessage.created_at))
                .limit(limit)
            ).all()
        await self._send(rows)
        return len(rows)

    async def _send(self, rows: Sequence[OutboxMessage]) -> None:
        sent: list[str] = []
        try:
            for row in rows:
                headers = dict(row.headers)
                with self._bus.tracer.start_as_current_span(
                    publish_span_name(row.subject),
                    context=extract(headers),
                    kind=SpanKind.PRODUCER,
                    attributes=publish_attributes(
                        row.subject,
                        message_id=row.event_id,
                        ce_type=headers.get("ce-type", ""),
                        body_size=len(row.data),
                        client_id=self._bus.source,
                    ),
                ):
                    inject(headers)
                    await self._bus.publish_raw(
                        row.subject, row.data, headers, stream=self._bus.config.stream
                    )
                sent.append(row.event_id)
        finally:
            if sent:
                with Session(self._engine) as session:
                    session.exec(delete(OutboxMessage).where(col(OutboxMessage.event_id).in_(sent)))
                    session.commit()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                # Rows younger than a few seconds are normally being published by the
                # handler that wrote them; the sweep is for the ones a crash left behind.
                await self.sweep(min_age=max(self._interval * 3, 3.0))
            except Exception:
                log.exception("outbox sweep failed; retrying")
