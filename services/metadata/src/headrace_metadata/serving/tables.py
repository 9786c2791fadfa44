"""The InferenceService read model's table: the latest view the serving service announced."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["TABLES", "InferenceServiceRow"]


class InferenceServiceRow(SQLModel, table=True):
    __tablename__ = "metadata_inference_services"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_metadata_isvc_name"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(default="default", max_length=63)
    name: str = Field(max_length=63)
    state: str = Field(default="Pending", max_length=16)
    generation: int = 0
    updated_at: str = Field(default="", max_length=40)
    view: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


TABLES: list[type[SQLModel]] = [InferenceServiceRow]
