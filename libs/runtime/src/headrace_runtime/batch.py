"""Several messages handled in one database transaction (see `headrace_bus.Batch`).

The handlers of a batch share one session, in arrival order, so a later message sees what
an earlier one wrote. One query finds the messages this consumer handled already (they are
skipped), one commit records the others as handled together with everything their handlers
wrote and published, and the outbox rows of the whole batch are sent after that commit.

If a handler raises or the commit fails, the transaction is rolled back and the bus handles
each message of the batch alone, with the usual retries and give-up: a batch never turns a
good message bad, it only makes the good ones cheaper.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlmodel import Session

from headrace_contracts import Envelope, Message

from .bulk import among, insert_rows
from .context import HandlerContext, flush_pending
from .tables import OutboxMessage, ProcessedMessage, utcnow

HandlerFn = Callable[[Any, HandlerContext[Any]], Awaitable[None]]
Publish = Callable[[list[OutboxMessage]], Awaitable[None]]

_table = ProcessedMessage.__table__  # type: ignore[attr-defined]


@cache
def _seen(dialect: str) -> Any:
    return select(_table.c.event_id).where(
        _table.c.consumer == bindparam("c"), among(_table.c.event_id, "ids", dialect)
    )


class BatchTransaction:
    def __init__(
        self,
        *,
        engine: Engine,
        consumer: str,
        source: str,
        service: str,
        handlers: dict[type[Message], HandlerFn],
        publish: Publish,
        envelopes: Sequence[Envelope[Any]],
    ) -> None:
        self._session = Session(engine, expire_on_commit=False)
        self._consumer = consumer
        self._source = source
        self._service = service
        self._handlers = handlers
        self._publish = publish
        self._done: set[str] = set(self._already_handled([e.id for e in envelopes]))
        self._marked: list[str] = []
        self._published: list[OutboxMessage] = []
        self._committed = False

    def _already_handled(self, ids: list[str]) -> list[str]:
        connection = self._session.connection()
        found = connection.execute(
            _seen(connection.dialect.name), {"c": self._consumer, "ids": ids}
        )
        return [row[0] for row in found]

    async def handle(self, envelope: Envelope[Any]) -> None:
        if envelope.id in self._done:
            return  # handled before (or twice in this batch): acked with the others
        ctx: HandlerContext[Any] = HandlerContext(
            envelope=envelope, session=self._session, source=self._source, service=self._service
        )
        await self._handlers[type(envelope.message)](envelope.message, ctx)
        self._done.add(envelope.id)
        self._marked.append(envelope.id)
        self._published += ctx.outbox

    async def commit(self) -> None:
        flush_pending(self._session)
        if self._marked:
            self._session.flush()
            now = utcnow()
            insert_rows(
                self._session.connection(),
                _table,
                [
                    {"consumer": self._consumer, "event_id": event_id, "processed_at": now}
                    for event_id in self._marked
                ],
            )
        self._session.commit()
        self._committed = True
        await self._publish(self._published)

    def close(self) -> None:
        if not self._committed:
            self._session.rollback()
        self._session.close()
