"""Thin handlers: load (or start) a run's rows, merge events into them (:mod:`.fold`).

The events of one transaction (every message of a batch shares one) are gathered in a
:class:`RunEvents` and merged just before it commits: one query loads the runs they name,
one the steps, each as a draft of plain values (:mod:`.drafts`); the fold runs in arrival
order over those drafts, as it would one message at a time; then one statement inserts the
new rows of each table, one updates the changed ones, and the run counts (:mod:`.counts`)
change by what changed. A replica that created the same placeholder a moment before makes
the insert fail, and the messages are handled again, alone, and find that row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import RowMapping, select
from sqlmodel import Session

from headrace_contracts import Message, SubmitRun
from headrace_runtime import HandlerContext
from headrace_runtime.bulk import among, insert_rows

from ..rows import table_of, update_by, update_values
from . import counts
from .drafts import RunDraft, StepDraft, columns_of
from .fold import STEP_EVENTS, apply_run, apply_step, new_run, new_step, utc
from .tables import LabelRow, RunRow, StepRow

CHUNK = 200  # keys per lookup
RUN_KEY = ("run_id",)
STEP_KEY = ("run_id", "step_id")


async def record(message: Any, ctx: HandlerContext[Any]) -> None:
    """Record a run or step event (or ``SubmitRun``) in the run read model."""
    ctx.pending("runs", RunEvents).add(message, utc(ctx.envelope.time))


class RunEvents:
    """Run and step events of one transaction, merged into their rows by :meth:`flush`."""

    def __init__(self) -> None:
        self._events: list[tuple[Message, datetime]] = []

    def add(self, message: Message, at: datetime) -> None:
        self._events.append((message, at))

    def flush(self, session: Session) -> None:
        events, self._events = self._events, []
        runs = _runs(session, sorted({_run_id(m) for m, _ in events}))
        steps = _steps(session, sorted({_step_key(m) for m, _ in events if _is_step(m)}))
        run_rows = {run_id: columns_of(run) for run_id, run in runs.items()}
        step_rows = {key: columns_of(step) for key, step in steps.items()}
        labels: list[dict[str, str]] = []
        for message, at in events:
            labels += _fold(runs, steps, message, at)
        _write(session, RunRow, RUN_KEY, run_rows, runs)
        _write(session, StepRow, STEP_KEY, step_rows, steps)
        insert_rows(session.connection(), table_of(LabelRow), labels)
        before = {run_id: row["state"] for run_id, row in run_rows.items()}
        counts.add(
            session, counts.changes((before.get(run_id), run.state) for run_id, run in runs.items())
        )


def apply(session: Session, message: Message, at: Any) -> None:
    """Merge one event into its rows now (for callers outside a handler)."""
    events = RunEvents()
    events.add(message, at)
    events.flush(session)


def _fold(
    runs: dict[str, RunDraft],
    steps: dict[tuple[str, str], StepDraft],
    message: Message,
    at: datetime,
) -> list[dict[str, str]]:
    """Fold ``message`` into its run's and step's drafts; the labels to write, if any."""
    run_id = _run_id(message)
    run = runs.get(run_id)
    if run is None:
        run = runs[run_id] = new_run(run_id, at)
    labels: list[dict[str, str]] = []
    if apply_run(run, message, at):
        assert isinstance(message, SubmitRun)
        labels = [{"run_id": run_id, "key": k, "value": v} for k, v in message.labels.items()]
    if _is_step(message):
        step_key = _step_key(message)
        step = steps.get(step_key)
        if step is None:
            step = steps[step_key] = new_step(*step_key)
        apply_step(step, message, at)
    return labels


def _write(
    session: Session,
    model: type[RunRow] | type[StepRow],
    keys: tuple[str, ...],
    read: Mapping[Any, dict[str, Any]],
    drafts: Mapping[Any, RunDraft | StepDraft],
) -> None:
    """Insert the drafts that were not read, update those that changed."""
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, draft in drafts.items():
        values = columns_of(draft)
        before = read.get(key)
        if before is None:
            new.append(values)
        elif values != before:
            changed.append(update_values(keys, values))
    table = table_of(model)
    insert_rows(session.connection(), table, new)
    if changed:
        session.execute(update_by(table, keys), changed)


def _run_id(message: Message) -> str:
    run_id: str = getattr(message, "run_id")  # noqa: B009 - every run and step event has one
    return run_id


def _is_step(message: Message) -> bool:
    return isinstance(message, STEP_EVENTS)


def _step_key(message: Message) -> tuple[str, str]:
    step_id: str = getattr(message, "step_id")  # noqa: B009 - every step event has one
    return _run_id(message), step_id


@cache
def _by_run(model: type[RunRow] | type[StepRow], dialect: str) -> Any:
    """The rows of ``model`` whose run is among ``ids``."""
    table = table_of(model)
    return select(table).where(among(table.c.run_id, "ids", dialect))


def _rows_of(
    session: Session, model: type[RunRow] | type[StepRow], run_ids: list[str]
) -> list[RowMapping]:
    statement = _by_run(model, session.get_bind().dialect.name)
    found: list[RowMapping] = []
    for start in range(0, len(run_ids), CHUNK):
        found.extend(session.execute(statement, {"ids": run_ids[start : start + CHUNK]}).mappings())
    return found


def _runs(session: Session, run_ids: list[str]) -> dict[str, RunDraft]:
    return {row["run_id"]: RunDraft(**row) for row in _rows_of(session, RunRow, run_ids)}


def _steps(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StepDraft]:
    """The steps among ``keys``: every step of their runs, read by the primary key's first
    column (an index serves no row-value ``IN``), kept when asked for."""
    wanted = set(keys)
    run_ids = sorted({run_id for run_id, _ in keys})
    return {
        (row["run_id"], row["step_id"]): StepDraft(**row)
        for row in _rows_of(session, StepRow, run_ids)
        if (row["run_id"], row["step_id"]) in wanted
    }
