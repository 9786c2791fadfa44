"""A run's and a step's columns as plain objects, which the fold (:mod:`.fold`) changes.

The fold sets many attributes per event, and an ORM object tracks every set (about 30 times
the cost of a plain attribute) and costs about 80 µs to build: at thousands of events a
second that was the read model's largest cost. So the rows are read as values into these
drafts, folded, and written with plain statements (:mod:`.record`). Their fields are the
tables' columns (:mod:`.tables`), with the same defaults; a test holds them equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from .tables import NO_DURATION, NOT_FINISHED

__all__ = ["RunDraft", "StepDraft", "columns_of"]


@dataclass(slots=True)
class RunDraft:
    """The columns of ``runs_runs`` (:class:`.tables.RunRow`)."""

    run_id: str
    created_at: datetime
    submitted: bool = False
    state: str = "PENDING"
    state_rank: int = 0
    state_at: datetime | None = None
    pipeline_name: str = ""
    experiment: str = ""
    display_name: str = ""
    enable_caching: bool = True
    arguments: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    output_parameters: dict[str, Any] = field(default_factory=dict)
    output_artifacts: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    step_count: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    finished_order: datetime = NOT_FINISHED
    duration_order: float = NO_DURATION


@dataclass(slots=True)
class StepDraft:
    """The columns of ``runs_steps`` (:class:`.tables.StepRow`)."""

    run_id: str
    step_id: str
    task_name: str = ""
    kind: str = "container"
    parent: str = ""
    state: str = "PENDING"
    state_override: int = 0
    state_attempt: int = 0
    state_rank: int = 0
    state_at: datetime | None = None
    attempts: int = 0
    detail_attempt: int = 0
    cached: bool = False
    cache_source_run_id: str = ""
    output_parameters: dict[str, Any] = field(default_factory=dict)
    output_artifacts: dict[str, Any] = field(default_factory=dict)
    log_uri: str = ""
    worker: str = ""
    reason: str = ""
    exit_code: int | None = None
    started_attempt: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None


def columns_of(draft: RunDraft | StepDraft) -> dict[str, Any]:
    """The draft's column values, by column name."""
    return {f.name: getattr(draft, f.name) for f in fields(draft)}
