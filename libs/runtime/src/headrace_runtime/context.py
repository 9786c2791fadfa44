"""What a handler gets besides its message: the envelope, a session, and publish()."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlmodel import Session

from headrace_contracts import Envelope, Message, derive_event_id

from .outbox import outbox_row
from .tables import OutboxMessage

M = TypeVar("M", bound=Message)


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

    @property
    def event_id(self) -> str:
        return self.envelope.id

    def publish(self, message: Message, *, key: str = "") -> str:
        event_id = derive_event_id(self.envelope.id, self.service, message.ce_type(), key)
        if any(row.event_id == event_id for row in self._outbox):
            raise ValueError(
                f"{type(message).__name__} published twice for one message: "
                "pass a distinct key= for each"
            )
        row = outbox_row(message, source=self.source, event_id=event_id)
        self.session.add(row)
        self._outbox.append(row)
        return event_id

    @property
    def published(self) -> list[str]:
        return [row.event_id for row in self._outbox]

    def extra(self) -> dict[str, Any]:
        return {"event_id": self.envelope.id, "type": self.envelope.type}
