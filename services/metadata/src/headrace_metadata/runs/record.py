"""Thin handlers: load (or start) a run's rows, merge one event into them (:mod:`.fold`)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from headrace_contracts import Message, SubmitRun
from headrace_runtime import HandlerContext

from .fold import STEP_EVENTS, apply_run, apply_step, new_run, new_step, utc
from .tables import LabelRow, RunRow, StepRow


async def record(message: Any, ctx: HandlerContext[Any]) -> None:
    """Record a run or step event (or ``SubmitRun``) in the run read model."""
    apply(ctx.session, message, utc(ctx.envelope.time))
    # Flush here, not at commit: a replica that created the same placeholder a moment
    # before makes this raise IntegrityError inside the handler, and the retry sees its row.
    ctx.session.flush()


def apply(session: Session, message: Message, at: Any) -> None:
    run_id: str = getattr(message, "run_id")  # noqa: B009 - every run and step event has one
    run = session.get(RunRow, run_id) or new_run(run_id, at)
    if apply_run(run, message, at):
        assert isinstance(message, SubmitRun)
        for key, value in message.labels.items():
            session.add(LabelRow(run_id=run_id, key=key, value=value))
    session.add(run)
    if isinstance(message, STEP_EVENTS):
        step_id: str = getattr(message, "step_id")  # noqa: B009
        step = session.get(StepRow, (run_id, step_id)) or new_step(run_id, step_id)
        apply_step(step, message, at)
        session.add(step)
