"""Tables every service has: processed messages (idempotency) and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class ProcessedMessage(SQLModel, table=True):
    """One row per message a consumer has fully handled; the idempotency key."""

    __tablename__ = "headrace_processed_messages"

    consumer: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=200)
    processed_at: datetime = Field(default_factory=utcnow, index=True)


class OutboxMessage(SQLModel, table=True):
    """A message committed with a state change and not yet confirmed published."""

    __tablename__ = "headrace_outbox"

    event_id: str = Field(primary_key=True, max_length=200)
    subject: str = Field(max_length=300)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


RUNTIME_TABLES: list[type[SQLModel]] = [ProcessedMessage, OutboxMessage]
