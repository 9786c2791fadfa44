"""The access tables (``access_*``): tokens (their SHA-256, never the secret) and the audit
trail the service records beside each ``AuditRecorded`` it publishes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC (SQLite gives back naive datetimes, which were UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_name", "name"),)

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=128)
    role: str = Field(max_length=16)
    secret_sha256: str = Field(max_length=64, unique=True)
    description: str = Field(default="", max_length=1000)
    created_by: str = Field(default="", max_length=256)
    created_at: datetime = Field(default_factory=now)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditRow(SQLModel, table=True):
    __tablename__ = "access_audit"
    __table_args__ = (Index("ix_access_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    at: datetime
    actor: str = Field(max_length=256)
    role: str = Field(default="", max_length=16)
    auth_method: str = Field(max_length=16)
    action: str = Field(max_length=300)
    target: str = Field(default="", max_length=2000)
    status: int = 0
    outcome: str = Field(max_length=16)
    reason: str = Field(default="", max_length=2000)
    request_id: str = Field(default="", max_length=64)
    source_address: str = Field(default="", max_length=64)


TABLES: list[type[SQLModel]] = [ApiTokenRow, AuditRow]
