"""Write facts into the lineage tables (the thin I/O side of :mod:`.mapping`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, SQLModel, select

from .facts import Fact, property_kinds
from .tables import LineageType

__all__ = ["apply_facts"]


def apply_facts(session: Session, facts: Iterable[Fact]) -> None:
    """Create or update the row each fact names, and the types they use, in ``session``."""
    types: dict[tuple[str, str], dict[str, str]] = {}
    for fact in facts:
        row = _find(session, fact.TABLE, fact.key())
        before = None if row is None else row.model_dump(exclude={"id"})
        values = fact.merge(before)
        if row is None:
            session.add(fact.TABLE(**values))
        elif values != before:
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
        typed = fact.typed()
        if typed is not None:
            name, properties = typed
            types.setdefault((fact.KIND, name), {}).update(property_kinds(properties))
    for (kind, name), kinds in types.items():
        _declare_type(session, kind, name, kinds)


def _find(session: Session, table: type[SQLModel], key: dict[str, Any]) -> Any:
    where = [getattr(table, name) == value for name, value in key.items()]
    return session.exec(select(table).where(*where)).first()


def _declare_type(session: Session, kind: str, name: str, kinds: dict[str, str]) -> None:
    row = _find(session, LineageType, {"kind": kind, "name": name})
    if row is None:
        session.add(LineageType(kind=kind, name=name, properties=kinds))
    elif not kinds.items() <= row.properties.items():
        row.properties = {**row.properties, **kinds}
        session.add(row)
