"""``headrace-metadata --rebuild``: the lineage tables dropped, recreated and filled again
from every message stored in the domain stream, through the same functions as live."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from headrace_runtime import Settings
from headrace_runtime.database import build_engine

from .apply import FactBuffer
from .mapping import facts_for
from .replay import replay
from .tables import LINEAGE_TABLES

__all__ = ["rebuild", "rebuild_into"]

log = logging.getLogger("headrace.metadata.lineage")
BATCH = 500


async def rebuild_into(engine: Engine, url: str, stream: str) -> int:
    """Rebuild the lineage tables in ``engine`` from ``stream`` on NATS at ``url``; returns
    how many messages were read. Raises :class:`ReplayError` (tables untouched) when the
    stream cannot be read; a rebuild cut short half way is run again."""
    tables = [t.__table__ for t in LINEAGE_TABLES]  # type: ignore[attr-defined]
    count = 0
    async with replay(url, stream) as messages:
        SQLModel.metadata.drop_all(engine, tables=tables)
        SQLModel.metadata.create_all(engine, tables=tables)
        with Session(engine) as session:
            buffer = FactBuffer()
            async for envelope in messages:
                buffer.add(facts_for(envelope.message))
                count += 1
                if count % BATCH == 0:
                    buffer.flush(session)
                    session.commit()
                    session.expunge_all()
            buffer.flush(session)
            session.commit()
    return count


async def rebuild(settings: Settings, service: str = "metadata") -> int:
    """Rebuild the metadata service's lineage tables from the platform's stream."""
    config = settings.bus_config(service)
    engine = build_engine(settings.database_url_for(service), service)
    try:
        count = await rebuild_into(engine, config.url, config.stream)
    finally:
        engine.dispose()
    log.info("lineage rebuilt from %d messages of stream %s", count, config.stream)
    return count
