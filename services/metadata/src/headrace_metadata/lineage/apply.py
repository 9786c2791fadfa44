"""Write facts into the lineage tables (the thin I/O side of :mod:`.mapping`).

Facts are gathered in a :class:`FactBuffer` for the whole transaction (every message of a
batch shares one) and written together just before it commits, table by table: one query
finds the rows the facts name, one insert creates the missing ones, and the changed ones are
updated. The facts for one row are merged in arrival order, as they would be one at a time.

Replicas of the metadata service handle messages at the same time, and two transactions
may name the same new row (a run's context, an artifact read by two steps): rows are read
under a row lock and created with ``INSERT ... ON CONFLICT DO NOTHING``, and a row another
transaction created meanwhile is read again and updated, so neither fails on the unique
constraint (which the runtime would take for a message handled twice) and no update
overwrites another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, SQLModel

from headrace_runtime.bulk import among, insert_rows

from ..rows import table_of, update_by, update_values
from .facts import Fact, property_kinds
from .tables import (
    LineageArtifact,
    LineageAssociation,
    LineageAttribution,
    LineageContext,
    LineageEvent,
    LineageExecution,
    LineageParentContext,
    LineageType,
)

__all__ = ["FactBuffer", "apply_facts"]

ID = ("id",)
CHUNK = 200  # keys per lookup: well under both databases' limits on bound parameters

Key = tuple[Any, ...]


class FactBuffer:
    """Facts of one transaction, by table and row, written together by :meth:`flush`."""

    def __init__(self) -> None:
        self._rows: dict[type[SQLModel], dict[Key, list[Fact]]] = {}
        self._names: dict[type[SQLModel], tuple[str, ...]] = {}

    def add(self, facts: Iterable[Fact]) -> None:
        for fact in facts:
            key = fact.key()
            self._names.setdefault(fact.TABLE, tuple(key))
            self._rows.setdefault(fact.TABLE, {}).setdefault(tuple(key.values()), []).append(fact)

    def flush(self, session: Session) -> None:
        """Create or update every row named, and the types the facts use, in ``session``."""
        rows, self._rows = self._rows, {}
        types: dict[tuple[str, str], dict[str, str]] = {}
        for table, facts in rows.items():
            _write(session, table, self._names[table], facts)
            for merged in facts.values():
                for fact in merged:
                    _typed(types, fact)
        if types:
            _declare_types(session, types)


def apply_facts(session: Session, facts: Iterable[Fact]) -> None:
    """Create or update the rows ``facts`` name, now, in ``session``."""
    buffer = FactBuffer()
    buffer.add(facts)
    buffer.flush(session)


def _merge(row: dict[str, Any] | None, facts: Sequence[Fact]) -> dict[str, Any]:
    values = row
    for fact in facts:
        values = fact.merge(values)
    assert values is not None
    return values


def _write(
    session: Session, table: type[SQLModel], names: tuple[str, ...], facts: dict[Key, list[Fact]]
) -> None:
    found = _find_all(session, table, names, list(facts))
    missing = {key: merged for key, merged in facts.items() if key not in found}
    if missing:
        created = _create_all(session, table, names, missing)
        again = [key for key in missing if key not in created]
        if again:  # created meanwhile by another transaction: update those instead
            found.update(_find_all(session, table, names, again))
    changed: list[dict[str, Any]] = []
    for key, row in found.items():
        if key not in facts:
            continue
        before = {name: value for name, value in row.items() if name != "id"}
        values = _merge(before, facts[key])
        if values != before:
            changed.append(update_values(ID, {**values, "id": row["id"]}))
    if changed:
        session.execute(update_by(table_of(table), ID), changed)


def _find_all(
    session: Session, table: type[SQLModel], names: tuple[str, ...], keys: list[Key]
) -> dict[Key, dict[str, Any]]:
    """The existing rows among ``keys``, locked, by key, as column values.

    Found by the leading key columns an index serves (:data:`LOOKUP`), each ``IN`` its
    values, and matched to the keys here: neither database uses an index for a row-value
    ``(a, b) IN ((..), ..)``, and SQLite then scans the whole table. Rows are read and
    written as plain values, not ORM objects: building and tracking those cost more than
    the statements."""
    lookup = LOOKUP.get(table, names[:1])
    positions = [names.index(name) for name in lookup]
    found: dict[Key, dict[str, Any]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        wanted = set(chunk)
        params = {f"k{i}": sorted({key[p] for key in chunk}) for i, p in enumerate(positions)}
        statement = _lookup(table, lookup, session.get_bind().dialect.name)
        for row in session.execute(statement, params).mappings():
            key = tuple(row[name] for name in names)
            if key in wanted:
                found[key] = dict(row)
    return found


# The key columns each lookup filters on: the leading columns of an index, and selective.
LOOKUP: dict[type[SQLModel], tuple[str, ...]] = {
    LineageArtifact: ("uri",),
    LineageExecution: ("run_id",),
    LineageEvent: ("run_id",),
    LineageContext: ("type_name", "name"),
    LineageAttribution: ("uri",),
    LineageAssociation: ("run_id",),
    LineageParentContext: ("child_type", "child_name"),
    LineageType: ("kind", "name"),
}


@cache
def _lookup(table: type[SQLModel], columns: tuple[str, ...], dialect: str) -> Any:
    """The statement finding (and locking) rows of ``table`` whose ``columns`` are each in a
    list of values, built once: building it costs more than running it."""
    columns_of = table_of(table).c
    where = [among(columns_of[name], f"k{i}", dialect) for i, name in enumerate(columns)]
    return select(table_of(table)).where(*where).with_for_update()


@cache
def _defaults(table: type[SQLModel]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        (name, field)
        for name, field in table.model_fields.items()
        if name != "id" and not field.is_required()
    )


def _new_row(table: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """A new row's column values: ``values`` and the table's defaults for the others."""
    row = {
        name: field.get_default(call_default_factory=True)
        for name, field in _defaults(table)
        if name not in values
    }
    row.update(values)
    return row


def _create_all(
    session: Session, table: type[SQLModel], names: tuple[str, ...], facts: dict[Key, list[Fact]]
) -> set[Key]:
    """Insert the rows of ``facts``; the keys inserted (the others exist already)."""
    values = [_new_row(table, _merge(None, merged)) for merged in facts.values()]
    created = insert_rows(
        session.connection(), table_of(table), values, skip_existing=True, returning=names
    )
    return set(created)


def _typed(types: dict[tuple[str, str], dict[str, str]], fact: Fact) -> None:
    typed = fact.typed()
    if typed is not None:
        name, properties = typed
        types.setdefault((fact.KIND, name), {}).update(property_kinds(properties))


def _declare_types(session: Session, types: dict[tuple[str, str], dict[str, str]]) -> None:
    names = ("kind", "name")
    keys = list(types)
    found = _find_all(session, LineageType, names, keys)
    missing = [key for key in keys if key not in found]
    if missing:
        rows = [{"kind": k, "name": n, "properties": types[(k, n)]} for k, n in missing]
        created = insert_rows(
            session.connection(), table_of(LineageType), rows, skip_existing=True, returning=names
        )
        again = set(missing) - set(created)
        if again:  # created meanwhile by another transaction: update those instead
            found.update(_find_all(session, LineageType, names, list(again)))
    changed = []
    for key, row in found.items():
        kinds = types[key]
        if not kinds.items() <= row["properties"].items():
            changed.append(update_values(ID, {**row, "properties": {**row["properties"], **kinds}}))
    if changed:
        session.execute(update_by(table_of(LineageType), ID), changed)
