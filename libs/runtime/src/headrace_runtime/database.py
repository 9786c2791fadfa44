"""The service's own database: SQLite file by default, any SQLAlchemy URL at scale.

On PostgreSQL every service keeps its tables in its own schema (``headrace_<service>``), so
services can share one database server without ever reading each other's tables. Replicas
starting together would race to create the schema and tables (``IF NOT EXISTS`` does not
hold against a concurrent creator: the loser fails on the catalogue's unique index), so they
are created under a transaction-scoped advisory lock, one replica after another. On SQLite
they would race the same way (a table checked missing, then made by another replica first:
"already exists"), so the check and the creation run in one transaction that holds the
file's write lock from its start.

A store an earlier release made is brought up to this release's tables additively at start:
the columns and indexes a table has gained since are added (Alembic's operations write the
DDL for the dialect). A column is only ever added, never changed or dropped, so a release
that needs more than that must say how to move the data.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, event, inspect, text
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
    cursor.execute("PRAGMA busy_timeout=30000")
    _write_ahead_log(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _write_ahead_log(cursor: Any, *, seconds: float = 30.0) -> None:
    """Put the file in write-ahead-log mode (it stays so). Switching needs the file to
    itself, and SQLite answers "database is locked" at once, without waiting, while another
    replica writes to a file that is new: try again until it is done."""
    deadline = time.monotonic() + seconds
    pause = 0.005
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


class SchemaUpgradeError(RuntimeError):
    """A stored table lacks a column this release cannot add by itself."""


def create_tables(engine: Engine, tables: Sequence[type[SQLModel]]) -> None:
    """Create this service's tables (and only them) if missing; to an existing table (made by
    an earlier release) add the columns and indexes it lacks."""
    with engine.begin() as conn:
        _lock_schema(conn)
        created = [t.__table__ for t in tables]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(conn, tables=created)
        for table in created:
            add_missing_columns(conn, table)
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def add_missing_columns(conn: Connection, table: Table) -> list[str]:
    """Add the columns of ``table`` its stored table lacks; their names. Rows already stored
    get the column's server default, or NULL. Raises :class:`SchemaUpgradeError` for a
    column that cannot be added so (part of the key, or required without a default)."""
    stored = {column["name"] for column in inspect(conn).get_columns(table.name)}
    missing = [column for column in table.columns if column.name not in stored]
    if not missing:
        return []
    # Imported only now: Alembic is a third of a second to import, and every start of
    # every service and CLI would pay it for the rare store that needs a column.
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    for column in missing:  # all checked before any is added
        if column.primary_key or (not column.nullable and column.server_default is None):
            raise SchemaUpgradeError(
                f"table {table.name!r} was made by an earlier release and lacks column "
                f"{column.name!r}, which cannot be added to rows already stored (it is part of "
                "the key, or required without a default): upgrade from the release before, "
                "or start this service on a new database"
            )
    operations = Operations(MigrationContext.configure(conn))
    for column in missing:
        operations.add_column(table.name, column._copy())
    return [column.name for column in missing]


SCHEMA_LOCK = 0x6865616472616365  # "headrace": the advisory lock of schema changes


def _lock_schema(conn: Connection) -> None:
    """Hold the schema lock until ``conn``'s transaction ends: PostgreSQL's advisory lock,
    SQLite's write lock (Python's sqlite3 opens no transaction before a read or DDL, so the
    transaction is begun here, IMMEDIATE: another replica's waits for it to commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
