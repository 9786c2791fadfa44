"""Removing the runs a policy selects, in batches, one transaction per batch.

For every selected run the read model goes (``runs_runs``, ``runs_steps``, ``runs_labels``).
For those not protected by a registered model version (:mod:`.protect`) its lineage goes
too: executions, INPUT/OUTPUT events, associations, the run context with its attributions
and parent links, the artifacts no surviving run refers to, its ``metadata_artifacts`` rows
and step metrics; and, when asked, its ``runs/<run_id>/`` folder in the artifact store
(after the batch's transaction committed, and only when no surviving run refers to an
artifact under it, e.g. through a cached step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, or_
from sqlmodel import Session, SQLModel, col, select

from headrace_artifacts import ArtifactStore
from headrace_contracts import PruneReport
from headrace_contracts.run_views import RUN_FINAL_STATES

from ..lineage.mapping import RUN
from ..lineage.tables import (
    LineageArtifact,
    LineageAssociation,
    LineageAttribution,
    LineageContext,
    LineageEvent,
    LineageExecution,
    LineageParentContext,
)
from ..registry.tables import StepMetricRow
from ..runs import counts as run_counts
from ..runs.specs import PipelineSpecRow, SubmissionRow
from ..runs.tables import LabelRow, RunRow, StepRow
from ..store import ArtifactRow
from .policy import FinishedRun, Policy, select_runs
from .protect import chunks, protected_runs, registered_uris

__all__ = ["Counts", "finished_runs", "prune"]


@dataclass
class Counts:
    """Running totals of one prune, turned into its :class:`PruneReport`."""

    dry_run: bool
    runs: list[str] = field(default_factory=list)
    kept_lineage: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    stored: int = 0

    def add(self, what: str, n: int) -> None:
        self.rows[what] = self.rows.get(what, 0) + n

    def report(self) -> PruneReport:
        return PruneReport(
            dry_run=self.dry_run,
            runs=self.runs,
            kept_lineage=self.kept_lineage,
            run_rows=self.rows.get("run_rows", 0),
            step_rows=self.rows.get("step_rows", 0),
            lineage_executions=self.rows.get("lineage_executions", 0),
            lineage_events=self.rows.get("lineage_events", 0),
            lineage_artifacts=self.rows.get("lineage_artifacts", 0),
            artifact_rows=self.rows.get("artifact_rows", 0),
            stored_artifacts_deleted=self.stored,
        )


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def finished_runs(session: Session) -> list[FinishedRun]:
    """Every finished run of the read model, as selection needs it."""
    rows = session.exec(
        select(RunRow.run_id, RunRow.state, RunRow.finished_at).where(
            col(RunRow.state).in_(sorted(RUN_FINAL_STATES))
        )
    ).all()
    return [FinishedRun(r, s, _aware(f)) for r, s, f in rows]


def prune(
    engine: Engine,
    policy: Policy,
    now: datetime,
    *,
    dry_run: bool,
    batch: int,
    store: Callable[[], ArtifactStore] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> PruneReport:
    """Remove (``dry_run``: count) what ``policy`` selects at ``now``, ``batch`` runs per
    transaction (registered models are looked up again in each); ``store`` (opened once, when
    needed) also loses each run's folder. ``stop`` is asked before each batch."""
    with Session(engine) as session:
        going = select_runs(finished_runs(session), policy, now)
    counts = Counts(dry_run=dry_run)
    opened: ArtifactStore | None = None
    for ids in chunks(going, batch):
        if stop():
            break
        with Session(engine) as session:
            keep = protected_runs(session) & set(ids)
            folders = _remove(session, ids, keep, registered_uris(session), counts)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        counts.runs += ids
        counts.kept_lineage += [r for r in ids if r in keep]
        if store is not None and folders:
            opened = opened or store()
            for run_id in folders:
                key = f"runs/{run_id}"
                counts.stored += int(opened.exists(key) if dry_run else opened.delete(key))
    return counts.report()


def _gone(session: Session, table: type[SQLModel], *where: Any) -> int:
    """Delete the rows of ``table`` matching ``where``; how many there were."""
    n: int = session.exec(select(func.count()).select_from(table).where(*where)).one()
    if n:
        session.execute(delete(table).where(*where))
    return n


def _forget_submissions(session: Session, ids: Sequence[str]) -> None:
    """Remove the runs' submissions, and the pipelines no other run was submitted with."""
    digests = set(
        session.exec(
            select(SubmissionRow.spec_digest).where(col(SubmissionRow.run_id).in_(ids))
        ).all()
    )
    _gone(session, SubmissionRow, col(SubmissionRow.run_id).in_(ids))
    if not digests:
        return
    kept = set(
        session.exec(
            select(SubmissionRow.spec_digest).where(col(SubmissionRow.spec_digest).in_(digests))
        ).all()
    )
    if digests - kept:
        _gone(session, PipelineSpecRow, col(PipelineSpecRow.digest).in_(sorted(digests - kept)))


def _remove(
    session: Session, ids: Sequence[str], keep: set[str], models: set[str], counts: Counts
) -> list[str]:
    """Remove one batch's rows; the runs whose store folder may go."""
    run_counts.add(session, run_counts.removed(session, list(ids)))
    counts.add("run_rows", _gone(session, RunRow, col(RunRow.run_id).in_(ids)))
    counts.add("step_rows", _gone(session, StepRow, col(StepRow.run_id).in_(ids)))
    _gone(session, LabelRow, col(LabelRow.run_id).in_(ids))
    _forget_submissions(session, ids)
    gone = [r for r in ids if r not in keep]
    if not gone:
        return []
    touched = set(
        session.exec(select(LineageEvent.uri).where(col(LineageEvent.run_id).in_(gone))).all()
    ) | set(
        session.exec(
            select(LineageAttribution.uri).where(
                LineageAttribution.context_type == RUN,
                col(LineageAttribution.context_name).in_(gone),
            )
        ).all()
    )
    used = _used_elsewhere(session, sorted(touched), gone)
    orphans = sorted(touched - used - models)
    counts.add("lineage_events", _gone(session, LineageEvent, col(LineageEvent.run_id).in_(gone)))
    counts.add(
        "lineage_executions",
        _gone(session, LineageExecution, col(LineageExecution.run_id).in_(gone)),
    )
    _gone(session, LineageAssociation, col(LineageAssociation.run_id).in_(gone))
    _gone(
        session,
        LineageAttribution,
        or_(
            (col(LineageAttribution.context_type) == RUN)
            & col(LineageAttribution.context_name).in_(gone),
            col(LineageAttribution.uri).in_(orphans),
        ),
    )
    _gone(
        session,
        LineageParentContext,
        LineageParentContext.child_type == RUN,
        col(LineageParentContext.child_name).in_(gone),
    )
    _gone(
        session, LineageContext, LineageContext.type_name == RUN, col(LineageContext.name).in_(gone)
    )
    for uris in chunks(orphans):
        counts.add(
            "lineage_artifacts", _gone(session, LineageArtifact, col(LineageArtifact.uri).in_(uris))
        )
    counts.add("artifact_rows", _gone(session, ArtifactRow, col(ArtifactRow.run_id).in_(gone)))
    _gone(session, StepMetricRow, col(StepMetricRow.run_id).in_(gone))
    return [r for r in gone if not any(f"/runs/{r}/" in u for u in used | models)]


def _used_elsewhere(session: Session, uris: Sequence[str], gone: Sequence[str]) -> set[str]:
    """Which of ``uris`` a run not in ``gone`` still reads, writes or holds."""
    used: set[str] = set()
    for batch in chunks(uris):
        used |= set(
            session.exec(
                select(LineageEvent.uri).where(
                    col(LineageEvent.uri).in_(batch), col(LineageEvent.run_id).not_in(gone)
                )
            ).all()
        )
        used |= set(
            session.exec(
                select(LineageAttribution.uri).where(
                    col(LineageAttribution.uri).in_(batch),
                    LineageAttribution.context_type == RUN,
                    col(LineageAttribution.context_name).not_in(gone),
                )
            ).all()
        )
    return used
