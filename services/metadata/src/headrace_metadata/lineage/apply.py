"""Write facts into the lineage tables (the thin I/O side of :mod:`.mapping`).

Replicas of the metadata service handle messages at the same time, and two messages may
name the same new row (a run's context, an artifact read by two steps): a row is created
with ``INSERT ... ON CONFLICT DO NOTHING`` and updated under a row lock, so neither message
fails on the unique constraint (which the runtime would take for a message handled twice)
and no update overwrites another.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, select

from .facts import Fact, property_kinds
from .tables import LineageType

__all__ = ["apply_facts"]

_INSERTS: dict[str, Any] = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


def apply_facts(session: Session, facts: Iterable[Fact]) -> None:
    """Create or update the row each fact names, and the types they use, in ``session``."""
    types: dict[tuple[str, str], dict[str, str]] = {}
    rows: dict[tuple[Any, ...], Any] = {}  # a message names the same run several times
    for fact in facts:
        key = fact.key()
        known = (fact.TABLE, *key.values())
        row = rows[known] if known in rows else _find(session, fact.TABLE, key)
        if row is None:
            row = _create(session, fact.TABLE, key, fact.merge(None))
            if row is not None:
                rows[known] = row
                _typed(types, fact)
                continue
            row = _find(session, fact.TABLE, key)  # created meanwhile by another replica
        rows[known] = row
        before = row.model_dump(exclude={"id"})
        values = fact.merge(before)
        if values != before:
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
        _typed(types, fact)
    for (kind, name), kinds in types.items():
        _declare_type(session, kind, name, kinds)


def _typed(types: dict[tuple[str, str], dict[str, str]], fact: Fact) -> None:
    typed = fact.typed()
    if typed is not None:
        name, properties = typed
        types.setdefault((fact.KIND, name), {}).update(property_kinds(properties))


def _find(session: Session, table: type[SQLModel], key: dict[str, Any]) -> Any:
    return session.exec(_lookup(table, tuple(key)), params=key).first()


@cache
def _lookup(table: type[SQLModel], names: tuple[str, ...]) -> Any:
    """The statement finding (and locking) a row of ``table`` by the columns ``names``, built
    once: the lookup runs for every fact, and building it costs more than running it."""
    where = [getattr(table, name) == bindparam(name) for name in names]
    return select(table).where(*where).with_for_update()


def _create(
    session: Session, table: type[SQLModel], key: dict[str, Any], values: dict[str, Any]
) -> Any:
    """The new row, or None when another transaction created it first."""
    insert = _INSERTS.get(session.get_bind().dialect.name)
    if insert is None:  # another database: no ON CONFLICT, a conflict retries the message
        row = table(**values)
        session.add(row)
        return row
    columns = table(**values).model_dump(exclude={"id"})
    statement = insert(table).values(**columns).on_conflict_do_nothing()
    created = session.execute(statement.returning(table.id)).first()  # type: ignore[attr-defined]
    return None if created is None else _find(session, table, key)


def _declare_type(session: Session, kind: str, name: str, kinds: dict[str, str]) -> None:
    key = {"kind": kind, "name": name}
    row = _find(session, LineageType, key)
    if row is None:
        if _create(session, LineageType, key, {**key, "properties": kinds}) is not None:
            return
        row = _find(session, LineageType, key)
    if not kinds.items() <= row.properties.items():
        row.properties = {**row.properties, **kinds}
        session.add(row)
