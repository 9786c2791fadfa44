"""The metadata service's tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from .lineage.tables import LINEAGE_TABLES
from .registry.tables import TABLES as REGISTRY_TABLES
from .runs.counts import RunCount
from .runs.specs import TABLES as SPEC_TABLES
from .runs.tables import TABLES as RUNS_TABLES
from .serving.tables import TABLES as SERVING_TABLES


def _now() -> datetime:
    return datetime.now(UTC)


class ArtifactRow(SQLModel, table=True):
    """An artifact recorded from ``ArtifactWritten``: what it is, where, who wrote it."""

    __tablename__ = "metadata_artifacts"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(index=True, unique=True, max_length=200)
    uri: str = Field(index=True, max_length=2000)
    name: str = ""
    schema_title: str = "system.Artifact"
    digest: str = ""
    size: int | None = None
    is_dir: bool = False
    run_id: str = Field(default="", index=True)
    step_id: str = ""
    output_name: str = ""
    producer: str = ""
    metadata_: dict[str, object] = Field(default_factory=dict, sa_column=Column("metadata", JSON))
    recorded_at: datetime = Field(default_factory=_now)


TABLES: list[type[SQLModel]] = [
    ArtifactRow,
    *LINEAGE_TABLES,
    *REGISTRY_TABLES,
    *RUNS_TABLES,
    *SPEC_TABLES,
    *SERVING_TABLES,
    RunCount,
]
