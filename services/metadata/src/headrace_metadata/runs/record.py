"""Thin handlers: load (or start) a run's rows, merge events into them (:mod:`.fold`).

The events of one transaction (every message of a batch shares one) are gathered in a
:class:`RunEvents` and merged just before it commits: one query loads the runs they name,
one the steps, and the fold runs in arrival order over those rows, as it would one message
at a time, and the run counts (:mod:`.counts`) change by what changed. The changed rows
are written by the commit; a replica that created the same
placeholder a moment before makes the commit fail, and the messages are handled again,
alone, and find that row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from headrace_contracts import Message, SubmitRun
from headrace_runtime import HandlerContext

from . import counts
from .fold import STEP_EVENTS, apply_run, apply_step, new_run, new_step, utc
from .tables import LabelRow, RunRow, StepRow

CHUNK = 200  # keys per lookup


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
        before = {run_id: run.state for run_id, run in runs.items()}
        steps = _steps(session, sorted({_step_key(m) for m, _ in events if _is_step(m)}))
        for message, at in events:
            _fold(session, runs, steps, message, at)
        counts.add(
            session, counts.changes((before.get(run_id), run.state) for run_id, run in runs.items())
        )


def apply(session: Session, message: Message, at: Any) -> None:
    """Merge one event into its rows now (for callers outside a handler)."""
    events = RunEvents()
    events.add(message, at)
    events.flush(session)


def _fold(
    session: Session,
    runs: dict[str, RunRow],
    steps: dict[tuple[str, str], StepRow],
    message: Message,
    at: datetime,
) -> None:
    run_id = _run_id(message)
    run = runs.get(run_id)
    if run is None:
        run = runs[run_id] = new_run(run_id, at)
    if apply_run(run, message, at):
        assert isinstance(message, SubmitRun)
        for key, value in message.labels.items():
            session.add(LabelRow(run_id=run_id, key=key, value=value))
    session.add(run)
    if _is_step(message):
        step_key = _step_key(message)
        step = steps.get(step_key)
        if step is None:
            step = steps[step_key] = new_step(*step_key)
        apply_step(step, message, at)
        session.add(step)


def _run_id(message: Message) -> str:
    run_id: str = getattr(message, "run_id")  # noqa: B009 - every run and step event has one
    return run_id


def _is_step(message: Message) -> bool:
    return isinstance(message, STEP_EVENTS)


def _step_key(message: Message) -> tuple[str, str]:
    step_id: str = getattr(message, "step_id")  # noqa: B009 - every step event has one
    return _run_id(message), step_id


def _runs(session: Session, run_ids: list[str]) -> dict[str, RunRow]:
    found: dict[str, RunRow] = {}
    with session.no_autoflush:
        for start in range(0, len(run_ids), CHUNK):
            chunk = run_ids[start : start + CHUNK]
            for row in session.exec(select(RunRow).where(col(RunRow.run_id).in_(chunk))):
                found[row.run_id] = row
    return found


def _steps(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StepRow]:
    """The steps among ``keys``: every step of their runs, read by the primary key's first
    column (an index serves no row-value ``IN``), kept when asked for."""
    wanted = set(keys)
    run_ids = sorted({run_id for run_id, _ in keys})
    found: dict[tuple[str, str], StepRow] = {}
    with session.no_autoflush:
        for start in range(0, len(run_ids), CHUNK):
            chunk = run_ids[start : start + CHUNK]
            for row in session.exec(select(StepRow).where(col(StepRow.run_id).in_(chunk))):
                if (row.run_id, row.step_id) in wanted:
                    found[(row.run_id, row.step_id)] = row
    return found
