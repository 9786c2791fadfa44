"""Many rows in one statement whose text does not depend on how many there are.

A statement whose text changes with its row count (``IN (:a, :b, ...)``, a multi-row
``VALUES``) is parsed again by the driver and planned again by the server every time. On
PostgreSQL these helpers pass the values as one array per column instead
(``= ANY(:ids)``, and with psycopg ``INSERT ... SELECT * FROM unnest(:a, :b, ...)``), so the
text is the same for any number of rows and psycopg prepares it on the server after a few
runs. Other databases and drivers get the plain forms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Connection, Dialect, Table, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["among", "insert_rows"]

POSTGRESQL = "postgresql"
_CONFLICT_INSERTS: dict[str, Any] = {POSTGRESQL: postgresql_insert, "sqlite": sqlite_insert}


def among(column: Column[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the values bound to ``name`` (a list)."""
    if dialect == POSTGRESQL:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_existing: bool = False,
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (each with the same columns); with ``skip_existing``, a row that
    would break a unique constraint is left out (``ON CONFLICT DO NOTHING``). The
    ``returning`` columns of the rows inserted."""
    if not rows:
        return []
    names = tuple(rows[0])
    dialect = connection.dialect
    if dialect.name == POSTGRESQL and dialect.driver == "psycopg":
        sql = _unnest(dialect, table, names, skip_existing, returning)
        json = _json_columns(table)
        params = {
            f"c{i}": [_value(row[name], name in json) for row in rows]
            for i, name in enumerate(names)
        }
        found = connection.exec_driver_sql(sql, params)
        return [tuple(row) for row in found] if returning else []
    statement: Any = insert(table)
    if skip_existing:
        conflict = _CONFLICT_INSERTS.get(dialect.name)
        if conflict is None:  # no ON CONFLICT: a conflict fails, and the caller retries
            connection.execute(statement, list(rows))
            return [tuple(row[name] for name in returning) for row in rows]
        statement = conflict(table).on_conflict_do_nothing()
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
        return [tuple(row) for row in connection.execute(statement, list(rows))]
    connection.execute(statement, list(rows))
    return []


def _value(value: Any, json: bool) -> Any:
    if json and value is not None:
        from psycopg.types.json import Json  # only with psycopg, the driver of this path

        return Json(value)
    return value


@cache
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.c if isinstance(c.type, JSON))


@cache
def _unnest(
    dialect: Dialect,
    table: Table,
    names: tuple[str, ...],
    skip_existing: bool,
    returning: tuple[str, ...],
) -> str:
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(
        f"%(c{i})s::{table.c[name].type.compile(dialect=dialect)}[]" for i, name in enumerate(names)
    )
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) SELECT * FROM unnest({arrays})"
    )
    if skip_existing:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(name) for name in returning)}"
    return sql
