"""Writing a job's changes together with the events they publish (outbox), outside any
handler: the controller's persistence (blocking parts run in a thread)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from headrace_contracts import Message, derive_event_id
from headrace_runtime import OutboxRelay, outbox_row

from .store import TrainingJobRow, by_job_id

__all__ = ["JobLedger"]


class JobLedger:
    """``commit(job_id, changes, events)``: set the row's columns and write the events to the
    outbox in one transaction, then publish them (what fails to go out now, the service's
    outbox sweep sends)."""

    def __init__(self, engine: Engine, relay: OutboxRelay, source: str) -> None:
        self.engine = engine
        self.relay = relay
        self.source = source

    async def commit(
        self, job_id: str, changes: dict[str, Any], events: Sequence[Message] = ()
    ) -> bool:
        """False when the job's row is gone (deleted meanwhile)."""
        ids = await asyncio.to_thread(self._write, job_id, changes, events)
        if ids is None:
            return False
        if ids:
            with contextlib.suppress(Exception):  # the outbox sweep sends them later
                await self.relay.publish(ids)
        return True

    def _write(
        self, job_id: str, changes: dict[str, Any], events: Sequence[Message]
    ) -> list[str] | None:
        with Session(self.engine) as session:
            row: TrainingJobRow | None = by_job_id(session, job_id)
            if row is None:
                return None
            for name, value in changes.items():
                setattr(row, name, value)
            row.seq += 1
            ids = []
            for position, message in enumerate(events):
                event_id = derive_event_id(
                    row.uid, "trainer-jobs", message.ce_type(), str(row.seq), str(position)
                )
                session.add(outbox_row(message, source=self.source, event_id=event_id))
                ids.append(event_id)
            session.add(row)
            session.commit()
            return ids
