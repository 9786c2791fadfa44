"""The lineage part of the metadata service: what it records and what it answers."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from headrace_contracts import GetLineage, LineageGraph
from headrace_runtime import HandlerContext, Service

from ..ingest import Ingest
from .apply import FactBuffer
from .graph import get_lineage
from .mapping import MAPPERS, facts_for

__all__ = ["record", "register"]


async def record(message: Any, ctx: HandlerContext[Any]) -> None:
    """Record ``message`` in the lineage tables, in the handler's transaction (written with
    the other messages of its batch just before the commit)."""
    ctx.pending("lineage", FactBuffer).add(facts_for(message))


def register(ingest: Ingest, service: Service) -> None:
    """Have ``ingest`` record every message type lineage knows, and ``service`` answer
    ``GetLineage``."""
    for message in MAPPERS:
        ingest.on(message, record, records_only=True)

    @service.answers(GetLineage)
    async def answer(query: GetLineage) -> LineageGraph:
        assert service.engine is not None
        with Session(service.engine) as session:
            return get_lineage(session, query)
