"""Rows written as plain values: one ``UPDATE`` statement per table, run for many rows.

The read model's writers (lineage, runs) read rows as values, change them in plain Python
and write the changed ones back with these statements: ORM objects track each attribute
set and cost more to build than the statements cost to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlmodel import SQLModel

__all__ = ["table_of", "update_by", "update_values"]


def table_of(model: type[SQLModel]) -> Table:
    """The table of a SQLModel table class."""
    found: Table = model.__table__  # type: ignore[attr-defined]
    return found


@cache
def update_by(table: Table, keys: tuple[str, ...]) -> Any:
    """``UPDATE`` of every other column of the row whose ``keys`` columns are given, built
    once; its parameters come from :func:`update_values`."""
    where = [table.c[name] == bindparam(f"key_{name}") for name in keys]
    values: dict[str, Any] = {
        c.name: bindparam(f"new_{c.name}") for c in table.c if c.name not in keys
    }
    return update(table).where(*where).values(values)


def update_values(keys: tuple[str, ...], row: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of :func:`update_by` giving the row its values in ``row`` (every
    column of the table, keys included)."""
    return {
        (f"key_{name}" if name in keys else f"new_{name}"): value for name, value in row.items()
    }
