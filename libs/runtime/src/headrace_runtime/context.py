"""What a handler gets besides its message: the envelope, a session, and publish()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlmodel import Session

from headrace_contracts import Envelope, Message, derive_event_id

from .outbox import outbox_row
from .tables import OutboxMessage

M = TypeVar("M", bound=Message)
P = TypeVar("P", bound="Pending")

_PENDING = "headrace.pending"


class Pending(Protocol):
    """Work a handler leaves for the end of its transaction (see `HandlerContext.pending`)."""

    def flush(self, session: Session) -> None: ...


def flush_pending(session: Session) -> None:
    """Run, once, the work handlers left in ``session``'s transaction; the runtime calls it
    just before every commit."""
    pending: dict[str, Pending] = session.info.pop(_PENDING, {})
    for work in pending.values():
        work.flush(session)


@dataclass
class HandlerContext(Generic[M]):
    """One handling of one message, inside one database transaction.

    ``publish`` does not send anything: it writes to the outbox in this transaction, and the
    message goes out after commit. Its event id is derived from the incoming message's id,
    so a redelivered message publishes the same ids and JetStream keeps one copy.
    """

    envelope: Envelope[M]
    session: Session
    source: str
    service: str
    _outbox: list[OutboxMessage] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)

    @property
    def event_id(self) -> str:
        return self.envelope.id

    def publish(self, message: Message, *, key: str = "") -> str:
        event_id = derive_event_id(self.envelope.id, self.service, message.ce_type(), key)
        if event_id in self._ids:  # a set: a run starting 10,000 steps publishes 10,000
            raise ValueError(
                f"{type(message).__name__} published twice for one message: "
                "pass a distinct key= for each"
            )
        row = outbox_row(message, source=self.source, event_id=event_id)
        self.session.add(row)
        self._outbox.append(row)
        self._ids.add(event_id)
        return event_id

    @property
    def published(self) -> list[str]:
        return [row.event_id for row in self._outbox]

    @property
    def outbox(self) -> list[OutboxMessage]:
        """The outbox rows written so far, in order (sent as they are after the commit)."""
        return list(self._outbox)

    def pending(self, key: str, make: Callable[[], P]) -> P:
        """The transaction's ``key`` object, made by ``make()`` on first use, whose
        ``flush(session)`` runs once just before the transaction commits.

        For writes that are cheaper together: every message of a batch shares one
        transaction, so a handler can gather its rows there and write them all at once. What
        it gathers must not be read back before the commit."""
        pending: dict[str, Any] = self.session.info.setdefault(_PENDING, {})
        if key not in pending:
            pending[key] = make()
        found: P = pending[key]
        return found

    def extra(self) -> dict[str, Any]:
        return {"event_id": self.envelope.id, "type": self.envelope.type}
