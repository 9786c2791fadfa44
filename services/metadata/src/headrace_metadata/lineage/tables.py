"""The lineage tables: ML Metadata's data model (types, artifacts, executions, events,
contexts, attributions, associations, parent contexts) in SQLModel.

Rows refer to each other by natural keys (an artifact by URI, an execution by run and step,
a context by type and name), not by row ids: an event may arrive before what it refers to,
and a store rebuilt from the stream must equal the live one whatever ids it hands out.
Unique constraints on the natural keys make a redelivered or replayed event add no row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "LINEAGE_TABLES",
    "LineageArtifact",
    "LineageAssociation",
    "LineageAttribution",
    "LineageContext",
    "LineageEvent",
    "LineageExecution",
    "LineageParentContext",
    "LineageType",
]


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class LineageType(SQLModel, table=True):
    """An artifact, execution or context type and the type of each property seen on it."""

    __tablename__ = "lineage_types"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, description="artifact, execution or context")
    name: str = Field(max_length=200)
    properties: dict[str, str] = _json()


class LineageArtifact(SQLModel, table=True):
    __tablename__ = "lineage_artifacts"

    id: int | None = Field(default=None, primary_key=True)
    uri: str = Field(max_length=2000, unique=True)
    type_name: str = Field(default="system.Artifact", max_length=200, index=True)
    name: str = ""
    digest: str = ""
    size: int | None = None
    is_dir: bool = False
    state: str = Field(default="LIVE", max_length=30)
    properties: dict[str, Any] = _json()


class LineageExecution(SQLModel, table=True):
    """One step of one run (its latest attempt)."""

    __tablename__ = "lineage_executions"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    step_id: str = Field(max_length=500)
    type_name: str = Field(default="system.ContainerExecution", max_length=200, index=True)
    name: str = ""
    state: str = Field(default="NEW", max_length=30)
    attempt: int = 0
    properties: dict[str, Any] = _json()


class LineageEvent(SQLModel, table=True):
    """An artifact read (INPUT) or written (OUTPUT) by an execution, on a port."""

    __tablename__ = "lineage_events"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", "uri", "kind", "port"),
        Index("ix_lineage_events_uri_kind", "uri", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    step_id: str = Field(max_length=500)
    uri: str = Field(max_length=2000)
    kind: str = Field(max_length=10, description="INPUT or OUTPUT")
    port: str = ""
    list_index: int | None = None


class LineageContext(SQLModel, table=True):
    """A pipeline, run or experiment grouping artifacts and executions."""

    __tablename__ = "lineage_contexts"
    __table_args__ = (UniqueConstraint("type_name", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    type_name: str = Field(max_length=200)
    name: str = Field(max_length=500)
    state: str = Field(default="", max_length=30)
    properties: dict[str, Any] = _json()


class LineageAttribution(SQLModel, table=True):
    """An artifact belongs to a context."""

    __tablename__ = "lineage_attributions"
    __table_args__ = (
        UniqueConstraint("context_type", "context_name", "uri"),
        Index("ix_lineage_attributions_uri", "uri"),
    )

    id: int | None = Field(default=None, primary_key=True)
    context_type: str = Field(max_length=200)
    context_name: str = Field(max_length=500)
    uri: str = Field(max_length=2000)


class LineageAssociation(SQLModel, table=True):
    """An execution belongs to a context."""

    __tablename__ = "lineage_associations"
    __table_args__ = (
        UniqueConstraint("context_type", "context_name", "run_id", "step_id"),
        Index("ix_lineage_associations_execution", "run_id", "step_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    context_type: str = Field(max_length=200)
    context_name: str = Field(max_length=500)
    run_id: str = Field(max_length=200)
    step_id: str = Field(max_length=500)


class LineageParentContext(SQLModel, table=True):
    """A context inside another (a run inside its pipeline and its experiment)."""

    __tablename__ = "lineage_parent_contexts"
    __table_args__ = (UniqueConstraint("child_type", "child_name", "parent_type", "parent_name"),)

    id: int | None = Field(default=None, primary_key=True)
    child_type: str = Field(max_length=200)
    child_name: str = Field(max_length=500)
    parent_type: str = Field(max_length=200)
    parent_name: str = Field(max_length=500)


LINEAGE_TABLES: list[type[SQLModel]] = [
    LineageType,
    LineageArtifact,
    LineageExecution,
    LineageEvent,
    LineageContext,
    LineageAttribution,
    LineageAssociation,
    LineageParentContext,
]
