"""Write facts into the lineage tables (the thin I/O side of :mod:`.mapping`)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, SQLModel, select

from .facts import Fact, property_kinds
from .tables import LineageType

__all__ = ["apply_facts"]


def apply_facts(session: Session, facts: Iterable[Fact]) -> None:
    """Create or update the row each fact names, and the types they use, in ``session``."""
    types: dict[tuple[str, str], dict[str, str]] = {}
    rows: dict[tuple[Any, ...], Any] = {}  # a message names the same run several times
    for fact in facts:
        key = fact.key()
        known = (fact.TABLE, *key.values())
        row = rows[known] if known in rows else _find(session, fact.TABLE, key)
        before = None if row is None else row.model_dump(exclude={"id"})
        values = fact.merge(before)
        if row is None:
            rows[known] = fact.TABLE(**values)
            session.add(rows[known])
        elif values != before:
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
        rows.setdefault(known, row)
        typed = fact.typed()
        if typed is not None:
            name, properties = typed
            types.setdefault((fact.KIND, name), {}).update(property_kinds(properties))
    for (kind, name), kinds in types.items():
        _declare_type(session, kind, name, kinds)


def _find(session: Session, table: type[SQLModel], key: dict[str, Any]) -> Any:
    return session.exec(_lookup(table, tuple(key)), params=key).first()


@cache
def _lookup(table: type[SQLModel], names: tuple[str, ...]) -> Any:
    """The statement finding a row of ``table`` by the columns ``names``, built once (the
    lookup runs for every fact, and building it costs more than running it)."""
    return select(table).where(*[getattr(table, name) == bindparam(name) for name in names])


def _declare_type(session: Session, kind: str, name: str, kinds: dict[str, str]) -> None:
    row = _find(session, LineageType, {"kind": kind, "name": name})
    if row is None:
        session.add(LineageType(kind=kind, name=name, properties=kinds))
    elif not kinds.items() <= row.properties.items():
        row.properties = {**row.properties, **kinds}
        session.add(row)
