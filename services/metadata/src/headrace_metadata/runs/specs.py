"""What each run was submitted with, so the dashboard can run it again: the pipeline (once
per distinct spec, by digest) and the rest of its ``SubmitRun`` (``runs_submissions``).

Recorded from the ``SubmitRun`` commands the service observes; runs submitted before this
was recorded have no row (a rerun of one says so).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Text
from sqlmodel import Column, Field, Session, SQLModel, select

from headrace_contracts import SubmitRun
from headrace_pipelines import canonical_json, pack_pipeline
from headrace_runtime import HandlerContext
from headrace_runtime.bulk import insert_rows

from ..rows import table_of

__all__ = ["TABLES", "PipelineSpecRow", "SubmissionRow", "record_submission", "submission_of"]

KEPT = ("arguments", "display_name", "experiment", "enable_caching", "allow_host_containers")


class PipelineSpecRow(SQLModel, table=True):
    """One pipeline as submitted (PipelineSpec, with its PlatformSpec when it had one)."""

    __tablename__ = "runs_pipeline_specs"

    digest: str = Field(primary_key=True, max_length=80)
    spec: str = Field(sa_column=Column(Text, nullable=False))


class SubmissionRow(SQLModel, table=True):
    """A run's ``SubmitRun`` without its pipeline: ``request`` is the JSON of the fields in
    :data:`KEPT` and its labels."""

    __tablename__ = "runs_submissions"

    run_id: str = Field(primary_key=True, max_length=200)
    spec_digest: str = Field(max_length=80)
    request: str = Field(sa_column=Column(Text, nullable=False))


async def record_submission(message: SubmitRun, ctx: HandlerContext[Any]) -> None:
    ctx.pending("runs.submissions", Submissions).add(message)


class Submissions:
    """The ``SubmitRun`` commands of one transaction, written together by :meth:`flush`."""

    def __init__(self) -> None:
        self._specs: dict[str, str] = {}
        self._runs: dict[str, dict[str, str]] = {}

    def add(self, message: SubmitRun) -> None:
        text = canonical_json(pack_pipeline(message.pipeline_spec, message.platform_spec))
        digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        self._specs.setdefault(digest, text)
        kept: dict[str, Any] = {name: getattr(message, name) for name in KEPT}
        kept["labels"] = message.labels
        self._runs.setdefault(
            message.run_id,
            {"run_id": message.run_id, "spec_digest": digest, "request": json.dumps(kept)},
        )

    def flush(self, session: Session) -> None:
        connection = session.connection()
        specs = [{"digest": d, "spec": text} for d, text in sorted(self._specs.items())]
        insert_rows(connection, table_of(PipelineSpecRow), specs, skip_existing=True)
        runs = [self._runs[run_id] for run_id in sorted(self._runs)]
        insert_rows(connection, table_of(SubmissionRow), runs, skip_existing=True)
        self._specs, self._runs = {}, {}


def submission_of(session: Session, run_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(packed pipeline, the other SubmitRun fields)`` of ``run_id``; None if unrecorded.
    The packed pipeline is what ``headrace_pipelines.load_pipeline`` reads back."""
    found = session.exec(
        select(SubmissionRow, PipelineSpecRow)
        .join(PipelineSpecRow, PipelineSpecRow.digest == SubmissionRow.spec_digest)  # type: ignore[arg-type]
        .where(SubmissionRow.run_id == run_id)
    ).first()
    if found is None:
        return None
    submission, spec = found
    return json.loads(spec.spec), json.loads(submission.request)


TABLES: list[type[SQLModel]] = [PipelineSpecRow, SubmissionRow]
