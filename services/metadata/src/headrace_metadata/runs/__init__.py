"""The run read model: every run with its state, timings, labels and steps, kept current
from run and step events, and ``ListRuns`` answered from it."""

from __future__ import annotations

from sqlmodel import Session

from headrace_contracts import ListRuns, RunList, SubmitRun
from headrace_runtime import Service

from ..ingest import Ingest
from . import counts
from .fold import RUN_EVENTS, STEP_EVENTS
from .query import list_runs
from .record import record
from .specs import TABLES as SPEC_TABLES
from .specs import record_submission, submission_of
from .tables import TABLES as ROW_TABLES
from .tables import LabelRow, RunRow, StepRow

TABLES = [*ROW_TABLES, *SPEC_TABLES]

__all__ = [
    "TABLES",
    "LabelRow",
    "RunRow",
    "StepRow",
    "list_runs",
    "record",
    "register",
    "submission_of",
]


def register(ingest: Ingest, service: Service) -> None:
    """Record run and step events through ``ingest``; answer ``ListRuns`` on ``service``."""
    for message in (*RUN_EVENTS, *STEP_EVENTS):
        ingest.on(message, record, records_only=True)
    ingest.on(SubmitRun, record_submission, records_only=True)

    @service.on_start
    async def fill_counts() -> None:
        assert service.engine is not None
        with Session(service.engine) as session:
            counts.ensure(session)

    @service.answers(ListRuns)
    async def answer(query: ListRuns) -> RunList:
        assert service.engine is not None
        with Session(service.engine) as session:
            return list_runs(session, query)
