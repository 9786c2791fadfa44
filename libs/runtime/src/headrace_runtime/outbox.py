"""Transactional outbox: a message is written in the same transaction as the state change
that caused it and published after commit, so a crash loses neither.

The relay publishes with ``Nats-Msg-Id`` = event id, so a row published twice (by a replica
sweeping at the same time, or after a crash between publish and delete) is stored once.

Rows are published together: every publish of a round is written to the connection at once,
in the rows' order (one connection keeps that order on the server), and their
acknowledgements are awaited together; the rows acknowledged are then deleted in one
statement. The relay's database work runs where its ``run`` says (a service passes its
handling thread, so it never blocks the event loop and queues behind the handlers' writes
instead of contending with them); the publishes always go out from the bus's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from opentelemetry.trace import SpanKind
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from headrace_bus import Bus, Runner, run_here
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

    def __init__(
        self, bus: Bus, engine: Engine, *, interval: float = 1.0, run: Runner | None = None
    ) -> None:
        self._bus = bus
        self._engine = engine
        self._interval = interval
        self._run: Runner = run or run_here
        self._task: asyncio.Task[None] | None = None

    async def publish(self, event_ids: Sequence[str]) -> None:
        """Publish the committed rows of ``event_ids`` (read back from the outbox)."""
        if event_ids:
            await self._run(lambda: self._publish(event_ids))

    async def send(self, rows: Sequence[OutboxMessage]) -> None:
        """Publish ``rows``, just committed, as they are (not read back), then delete them."""
        if rows:
            await self._run(lambda: self._send(rows))

    async def sweep(self, *, min_age: float = 0.0, limit: int = 500) -> int:
        """Publish the rows at least ``min_age`` seconds old, oldest first (up to ``limit``);
        how many there were."""
        return await self._run(lambda: self._sweep(min_age, limit))

    async def _publish(self, event_ids: Sequence[str]) -> None:
        with Session(self._engine) as session:
            rows = session.exec(
                select(OutboxMessage).where(col(OutboxMessage.event_id).in_(event_ids))
            ).all()
        order = {event_id: index for index, event_id in enumerate(event_ids)}
        await self._send(sorted(rows, key=lambda row: order[row.event_id]))

    async def _sweep(self, min_age: float, limit: int) -> int:
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
        sent, error = await self._bus.on_loop(self._publish_all(rows))
        if sent:
            with Session(self._engine) as session:
                session.exec(delete(OutboxMessage).where(col(OutboxMessage.event_id).in_(sent)))
                session.commit()
        if error is not None:
            raise error

    async def _publish_all(
        self, rows: Sequence[OutboxMessage]
    ) -> tuple[list[str], BaseException | None]:
        """Publish ``rows`` together, on the bus's loop: the event ids stored, and the first
        failure if any publish failed (its row stays for the sweep)."""
        outcomes: list[Any] = await asyncio.gather(
            *(self._publish_one(row) for row in rows), return_exceptions=True
        )
        sent = [row.event_id for row, done in zip(rows, outcomes, strict=True) if done is None]
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        return sent, failed[0] if failed else None

    async def _publish_one(self, row: OutboxMessage) -> None:
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
