"""The trainer's training-job table (``training_jobs``), in the trainer's own database.

One row per job (namespace + name unique): the applied manifest, the gang policy's state
(`codec`), the current attempt's replicas, the latest metrics, and ``request``: what a
command asked of the job (``delete``, ``suspend``, ``resume``), kept until the job's
controller has done it, so a trainer restart loses no request. ``expires_at`` is when a
finished job's record goes (``ttlSecondsAfterFinished``), kept here so a restart does not
lose it (kubeflow/trainer#1533). ``seq`` counts the row's changes; it keys the events each
change publishes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine, UniqueConstraint, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

__all__ = ["JobRows", "TrainingJobRow", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class TrainingJobRow(SQLModel, table=True):
    __tablename__ = "training_jobs"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_training_job_name"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=200, unique=True)
    uid: str = Field(max_length=64)
    namespace: str = Field(default="default", max_length=63)
    name: str = Field(max_length=253)
    kind: str = Field(default="", max_length=32)
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    working_dir: str = ""
    spec_digest: str = Field(default="", max_length=100)
    phase: str = Field(default="CREATED", max_length=16, index=True)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    replicas: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    metrics: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    request: str = Field(default="", max_length=16)
    reason: str = ""
    exit_code: int | None = None
    log_tail: str = ""
    output_uri: str = ""
    run_id: str = Field(default="", max_length=200)
    step_id: str = ""
    trace_context: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    """W3C headers of the submission's handling: the trace its replicas' spans join."""
    seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    not_before: datetime | None = None


class JobRows:
    """Reads and writes of `TrainingJobRow` (blocking: call them through a thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, job_id: str) -> TrainingJobRow | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.exec(
                select(TrainingJobRow).where(TrainingJobRow.job_id == job_id)
            ).first()

    def find(self, namespace: str, name: str) -> TrainingJobRow | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return find(session, namespace, name)

    def listed(self, namespace: str, phase: str, limit: int) -> list[TrainingJobRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(TrainingJobRow)
            if namespace:
                query = query.where(TrainingJobRow.namespace == namespace)
            if phase:
                query = query.where(TrainingJobRow.phase == phase)
            newest = (col(TrainingJobRow.created_at).desc(), col(TrainingJobRow.id).desc())
            query = query.order_by(*newest)
            return list(session.exec(query.limit(limit)).all())

    def to_drive(self) -> list[str]:
        """Jobs a controller has work for: active, suspended with a request, or expiring."""
        with Session(self.engine) as session:
            rows = session.exec(select(TrainingJobRow)).all()
            return [
                row.job_id
                for row in rows
                if row.phase in ("CREATED", "RUNNING", "RESTARTING")
                or row.request
                or row.expires_at is not None
            ]

    def clear_request(self, job_id: str, seen: str) -> None:
        """Forget ``seen`` as the job's request, unless another came meanwhile."""
        with Session(self.engine) as session:
            session.exec(
                update(TrainingJobRow)
                .where(col(TrainingJobRow.job_id) == job_id, col(TrainingJobRow.request) == seen)
                .values(request="")
            )
            session.commit()

    def remove(self, job_id: str) -> None:
        with Session(self.engine) as session:
            session.exec(delete(TrainingJobRow).where(col(TrainingJobRow.job_id) == job_id))
            session.commit()


def find(session: Session, namespace: str, name: str) -> TrainingJobRow | None:
    return session.exec(
        select(TrainingJobRow).where(
            TrainingJobRow.namespace == namespace, TrainingJobRow.name == name
        )
    ).first()


def by_job_id(session: Session, job_id: str) -> TrainingJobRow | None:
    return session.exec(select(TrainingJobRow).where(TrainingJobRow.job_id == job_id)).first()
