"""The service's own database: SQLite file by default, any SQLAlchemy URL at scale.

On PostgreSQL every service keeps its tables in its own schema (``headrace_<service>``), so
services can share one database server without ever reading each other's tables. Replicas
starting together would race to create the schema and tables (``IF NOT EXISTS`` does not
hold against a concurrent creator: the loser fails on the catalogue's unique index), so they
are created under a transaction-scoped advisory lock, one replica after another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, create_engine


def schema_for(service: str) -> str:
    return f"headrace_{service}"


def build_engine(url: str, service: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        schema = schema_for(service)
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": f"-csearch_path={schema}"},
        )
        with engine.begin() as conn:
            _lock_schema(conn)
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_tables(engine: Engine, tables: Sequence[type[SQLModel]]) -> None:
    """Create this service's tables (and only them) if missing, and the indexes they declare
    that an existing table lacks (one added in a later release)."""
    with engine.begin() as conn:
        _lock_schema(conn)
        created = [t.__table__ for t in tables]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(conn, tables=created)
        for table in created:
            for index in table.indexes:
                index.create(conn, checkfirst=True)


SCHEMA_LOCK = 0x6865616472616365  # "headrace": the advisory lock of schema changes


def _lock_schema(conn: Connection) -> None:
    """Hold the schema lock until ``conn``'s transaction ends (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
