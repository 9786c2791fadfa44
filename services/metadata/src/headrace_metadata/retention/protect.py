"""The runs whose lineage must stay: every run that produced a registered model version's
artifact, or is upstream of one through lineage (an artifact written by a step of the run and
read, directly or through other steps and runs, by the step that wrote the model)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from sqlmodel import Session, col, select

from ..lineage.tables import LineageEvent
from ..registry.tables import ModelVersionRow

__all__ = ["chunks", "protected_runs", "registered_uris"]

T = TypeVar("T")
CHUNK = 500


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def registered_uris(session: Session) -> set[str]:
    """Artifact URIs of every registered model version (LIVE or ARCHIVED)."""
    return set(session.exec(select(ModelVersionRow.uri).distinct()).all())


def protected_runs(session: Session) -> set[str]:
    """Run ids that produced, or are upstream of, a registered model version."""
    runs = {r for r in session.exec(select(ModelVersionRow.run_id).distinct()).all() if r}
    seen_uris: set[str] = set()
    seen_steps: set[tuple[str, str]] = set()
    frontier = registered_uris(session)
    while frontier:
        seen_uris |= frontier
        steps = _producers(session, sorted(frontier)) - seen_steps
        seen_steps |= steps
        runs |= {run for run, _ in steps}
        frontier = _inputs(session, sorted(steps)) - seen_uris
    return runs


def _producers(session: Session, uris: Sequence[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for batch in chunks(uris):
        rows = session.exec(
            select(LineageEvent.run_id, LineageEvent.step_id).where(
                col(LineageEvent.uri).in_(batch), LineageEvent.kind == "OUTPUT"
            )
        ).all()
        found |= {(r, s) for r, s in rows}
    return found


def _inputs(session: Session, steps: Sequence[tuple[str, str]]) -> set[str]:
    found: set[str] = set()
    by_run: dict[str, list[str]] = {}
    for run, step in steps:
        by_run.setdefault(run, []).append(step)
    for run, step_ids in by_run.items():
        for batch in chunks(step_ids):
            found |= set(
                session.exec(
                    select(LineageEvent.uri).where(
                        LineageEvent.run_id == run,
                        col(LineageEvent.step_id).in_(batch),
                        LineageEvent.kind == "INPUT",
                    )
                ).all()
            )
    return found
