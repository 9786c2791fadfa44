"""The serving service's tables (its own database).

``serving_services``: one row per InferenceService (namespace + name unique), the applied
document, its state and error, the rollout (stable, canary and its percent, pending) and
``generation``, bumped with every change; a deleted service keeps its row (state
``Deleted``) so a re-created one continues its generation. ``serving_revisions``: one row per
revision with the plan the data plane runs and what the data plane last reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from .revisions import Rollout

__all__ = [
    "LIVE_REVISIONS",
    "RevisionRow",
    "ServiceRow",
    "revision_row",
    "revisions_of",
    "service_row",
    "utcnow",
]

LIVE_REVISIONS = ("Loading", "Ready", "ScaledToZero")


def utcnow() -> datetime:
    return datetime.now(UTC)


class ServiceRow(SQLModel, table=True):
    __tablename__ = "serving_services"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_serving_service_name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(default="default", max_length=63)
    name: str = Field(max_length=63)
    document: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    spec_digest: str = Field(default="", max_length=80)
    request_id: str = Field(default="", max_length=80)
    """Of the last ``ApplyInferenceService`` handled (or given up on): what its sender waits for."""
    revision_digest: str = Field(default="", max_length=80)
    state: str = Field(default="Pending", max_length=16, index=True)
    error: str = ""
    url: str = ""
    storage_uri: str = ""
    model: str = Field(default="", max_length=128, index=True)
    alias: str = Field(default="", max_length=63)
    canary_traffic_percent: int | None = None
    model_format: str = Field(default="", max_length=32)
    protocol_version: str = Field(default="v1", max_length=8)
    min_replicas: int = 1
    max_replicas: int = 1
    next_number: int = 1
    stable: str = ""
    canary: str = ""
    canary_percent: int = 0
    pending: str = ""
    generation: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def rollout(self) -> Rollout:
        return Rollout(
            stable=self.stable or None,
            canary=self.canary or None,
            canary_percent=self.canary_percent,
            pending=self.pending or None,
        )

    @rollout.setter
    def rollout(self, value: Rollout) -> None:
        self.stable = value.stable or ""
        self.canary = value.canary or ""
        self.canary_percent = value.canary_percent
        self.pending = value.pending or ""

    def touch(self) -> None:
        self.generation += 1
        self.updated_at = utcnow()


class RevisionRow(SQLModel, table=True):
    __tablename__ = "serving_revisions"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_serving_revision_name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(default="default", max_length=63)
    service: str = Field(max_length=63, index=True)
    name: str = Field(max_length=80)
    number: int
    digest: str = Field(default="", max_length=80)
    storage_uri: str = ""
    model_version: str | None = None
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    state: str = Field(default="Loading", max_length=16)
    reason: str = ""
    replicas: int = 0
    ready_replicas: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None


def service_row(session: Session, namespace: str, name: str) -> ServiceRow | None:
    return session.exec(
        select(ServiceRow).where(ServiceRow.namespace == namespace, ServiceRow.name == name)
    ).first()


def revisions_of(session: Session, namespace: str, service: str) -> list[RevisionRow]:
    return list(
        session.exec(
            select(RevisionRow)
            .where(RevisionRow.namespace == namespace, RevisionRow.service == service)
            .order_by(col(RevisionRow.number).desc())
        ).all()
    )


def revision_row(session: Session, namespace: str, name: str) -> RevisionRow | None:
    return session.exec(
        select(RevisionRow).where(RevisionRow.namespace == namespace, RevisionRow.name == name)
    ).first()
