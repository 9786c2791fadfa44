"""The registry's tables (``registry_*``): models, versions, aliases, and the metrics steps
reported (so a version registered from a step gets them, whichever event came first)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def now() -> datetime:
    return datetime.now(UTC)


class RegisteredModelRow(SQLModel, table=True):
    __tablename__ = "registry_models"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_registry_model_name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(default="default", max_length=63)
    name: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class ModelVersionRow(SQLModel, table=True):
    __tablename__ = "registry_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_registry_version_number"),
        Index("ix_registry_versions_artifact", "model_id", "digest"),
        Index("ix_registry_versions_source", "run_id", "step_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registry_models.id")
    version: int
    state: str = Field(default="LIVE", max_length=16)
    uri: str = Field(max_length=2000)
    digest: str = Field(default="", max_length=200)
    framework: str = ""
    run_id: str = Field(default="", max_length=200)
    step_id: str = Field(default="", max_length=200)
    metrics: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON))
    description: str = ""
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class AliasRow(SQLModel, table=True):
    """An alias pointing at one version; ``revision`` counts its moves (compare-and-set)."""

    __tablename__ = "registry_aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias", name="uq_registry_alias"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registry_models.id", index=True)
    alias: str = Field(max_length=63)
    version: int
    revision: int = 1
    updated_at: datetime = Field(default_factory=now)


class StepMetricRow(SQLModel, table=True):
    """A metric a step reported (``MetricReported``), kept for versions its step registers."""

    __tablename__ = "registry_step_metrics"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", "name", name="uq_registry_step_metric"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    step_id: str = Field(max_length=200)
    name: str = Field(max_length=200)
    value: float


TABLES: list[type[SQLModel]] = [RegisteredModelRow, ModelVersionRow, AliasRow, StepMetricRow]
