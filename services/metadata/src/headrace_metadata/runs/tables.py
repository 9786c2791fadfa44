"""The run read model's tables (``runs_*``): one row per run, per step and per label.

Times are UTC. ``finished_order`` and ``duration_order`` are the sort keys of
``finished_at`` and ``duration_seconds``: never NULL, a run that has not finished sorts as
finishing last (:data:`NOT_FINISHED`, :data:`NO_DURATION`), so keyset paging needs no NULL
handling and each sort is one index range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

NOT_FINISHED = datetime(9999, 12, 31, tzinfo=UTC)
NO_DURATION = 1e15


class RunRow(SQLModel, table=True):
    """A run as its events describe it; a placeholder until its ``SubmitRun`` arrives."""

    __tablename__ = "runs_runs"
    __table_args__ = (
        Index("runs_runs_created", "created_at", "run_id"),
        Index("runs_runs_finished", "finished_order", "run_id"),
        Index("runs_runs_duration", "duration_order", "run_id"),
        Index("runs_runs_state_created", "state", "created_at", "run_id"),
        Index("runs_runs_state_finished", "state", "finished_order", "run_id"),
        Index("runs_runs_state_duration", "state", "duration_order", "run_id"),
        Index("runs_runs_pipeline_created", "pipeline_name", "created_at", "run_id"),
        Index("runs_runs_experiment_created", "experiment", "created_at", "run_id"),
    )

    run_id: str = Field(primary_key=True, max_length=200)
    submitted: bool = False
    state: str = Field(default="PENDING", max_length=20)
    state_rank: int = 0
    state_at: datetime | None = None
    pipeline_name: str = ""
    experiment: str = ""
    display_name: str = ""
    enable_caching: bool = True
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    output_parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    output_artifacts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    error: str = ""
    step_count: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    finished_order: datetime = NOT_FINISHED
    duration_order: float = NO_DURATION


class StepRow(SQLModel, table=True):
    """One container or importer step of a run (its latest attempt)."""

    __tablename__ = "runs_steps"

    run_id: str = Field(primary_key=True, max_length=200)
    step_id: str = Field(primary_key=True, max_length=1000)
    task_name: str = ""
    kind: str = "container"
    parent: str = ""
    state: str = Field(default="PENDING", max_length=20)
    state_override: int = 0
    state_attempt: int = 0
    state_rank: int = 0
    state_at: datetime | None = None
    attempts: int = 0
    detail_attempt: int = 0
    cached: bool = False
    cache_source_run_id: str = ""
    output_parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    output_artifacts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    log_uri: str = ""
    worker: str = ""
    reason: str = ""
    exit_code: int | None = None
    started_attempt: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None


class LabelRow(SQLModel, table=True):
    """One label of a run, so a label filter is an index lookup."""

    __tablename__ = "runs_labels"
    __table_args__ = (Index("runs_labels_key_value", "key", "value", "run_id"),)

    run_id: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    value: str


TABLES: list[type[SQLModel]] = [RunRow, StepRow, LabelRow]
