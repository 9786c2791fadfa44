"""Thin handlers: load (or start) a run's rows, merge one event into them (:mod:`.fold`)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from headrace_contracts import Message, SubmitRun
from headrace_runtime import HandlerContext

from .fold import STEP_EVENTS, apply_run, apply_step, new_run, new_step, utc
from .tables import LabelRow, RunRow, StepRow


async def record(message: Any, ctx: HandlerContext[Any]) -> None:
    """Record a run or step event (or ``SubmitRun``) in the run read model. The rows are
    written when the transaction commits, with the rest of its batch: a replica that created
    the same placeholder a moment before makes the commit fail, and the message is handled
    again, alone, and finds that row."""
    apply(ctx.session, message, utc(ctx.envelope.time))


def apply(session: Session, message: Message, at: Any) -> None:
    rows: dict[Any, Any] = session.info.setdefault(_ROWS, {})
    run_id: str = getattr(message, "run_id")  # noqa: B009 - every run and step event has one
    run = _get(session, rows, RunRow, run_id) or new_run(run_id, at)
    if apply_run(run, message, at):
        assert isinstance(message, SubmitRun)
        for key, value in message.labels.items():
            session.add(LabelRow(run_id=run_id, key=key, value=value))
    _keep(session, rows, RunRow, run_id, run)
    if isinstance(message, STEP_EVENTS):
        step_id: str = getattr(message, "step_id")  # noqa: B009
        step = _get(session, rows, StepRow, (run_id, step_id)) or new_step(run_id, step_id)
        apply_step(step, message, at)
        _keep(session, rows, StepRow, (run_id, step_id), step)


# The rows this transaction read or made, by table and key. Reading them back with
# ``session.get`` would flush every pending change first (and not see a row added but not
# yet flushed); the messages of a batch write all of theirs at the commit instead.
_ROWS = "headrace.runs.rows"


def _get(session: Session, rows: dict[Any, Any], table: type[Any], key: Any) -> Any:
    if (table, key) in rows:
        return rows[(table, key)]
    with session.no_autoflush:
        return session.get(table, key)


def _keep(session: Session, rows: dict[Any, Any], table: type[Any], key: Any, row: Any) -> None:
    rows[(table, key)] = row
    session.add(row)
