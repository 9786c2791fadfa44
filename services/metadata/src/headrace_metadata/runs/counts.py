"""How many runs there are, in all and in each state, kept as the runs change.

``ListRuns`` answers with a true total. Counting the rows that match costs a scan of every
one of them (90,000 index entries for "the succeeded runs" of 100,000), so the totals the run
list asks for most (no filter, or only a state) are kept in ``runs_counts``: each
transaction that adds, changes the state of, or removes runs adds its differences to them
(``INSERT ... ON CONFLICT DO UPDATE SET runs = runs + n``, safe between replicas). Any other
filter is still counted from the rows.

A store made before the counts existed has runs and no counts: the first service to start
on it fills them in from the rows (:func:`ensure`), once, marked by the ``#ready`` row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, func, select

from .tables import RunRow

__all__ = ["RunCount", "add", "changes", "ensure", "removed", "total"]

ALL = "all"
READY = "#ready"
_UPSERTS: dict[str, Any] = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


class RunCount(SQLModel, table=True):
    __tablename__ = "runs_counts"

    key: str = Field(primary_key=True, max_length=40, description="'all' or 'state:<STATE>'")
    runs: int = 0


def state_key(state: str) -> str:
    return f"state:{state}"


def changes(moves: Iterable[tuple[str | None, str | None]]) -> dict[str, int]:
    """The differences to the counts of runs moving ``(before, after)``: ``None`` before is a
    new run, ``None`` after a removed one (pure)."""
    out: Counter[str] = Counter()
    for before, after in moves:
        if before == after:
            continue
        if before is None:
            out[ALL] += 1
        else:
            out[state_key(before)] -= 1
        if after is None:
            out[ALL] -= 1
        else:
            out[state_key(after)] += 1
    return {key: n for key, n in out.items() if n}


def add(session: Session, deltas: Mapping[str, int]) -> None:
    """Add ``deltas`` to the counts, in ``session``'s transaction."""
    upsert = _UPSERTS.get(session.get_bind().dialect.name)
    if upsert is None or not deltas:
        return  # another database: every total is counted from the rows
    statement = upsert(RunCount)
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"runs": RunCount.runs + statement.excluded.runs}
    )
    session.execute(statement, [{"key": key, "runs": n} for key, n in sorted(deltas.items())])


def removed(session: Session, run_ids: list[str]) -> dict[str, int]:
    """The differences to the counts of removing ``run_ids`` (read before they go)."""
    found = session.exec(
        select(RunRow.state, func.count())
        .where(col(RunRow.run_id).in_(run_ids))
        .group_by(col(RunRow.state))
    ).all()
    moves: list[tuple[str | None, str | None]] = []
    for state, n in found:
        moves += [(state, None)] * n
    return changes(moves)


def total(session: Session, state: str = "") -> int | None:
    """The kept count of all runs, or of those in ``state``; None when not kept here."""
    ready = session.get(RunCount, READY)
    if ready is None:
        return None
    found = session.get(RunCount, state_key(state) if state else ALL)
    return found.runs if found is not None else 0


def ensure(session: Session) -> bool:
    """Fill the counts from the rows if this store has never had them; True if it did."""
    upsert = _UPSERTS.get(session.get_bind().dialect.name)
    if upsert is None or session.get(RunCount, READY) is not None:
        return False
    claimed = session.execute(
        upsert(RunCount).values(key=READY, runs=0).on_conflict_do_nothing().returning(RunCount.key)
    ).first()
    if claimed is None:  # another replica is filling them in
        session.rollback()
        return False
    # Differences added before the counts were ready counted only part of the runs.
    session.execute(delete(RunCount).where(col(RunCount.key) != READY))
    by_state = session.exec(select(RunRow.state, func.count()).group_by(col(RunRow.state))).all()
    deltas = {state_key(state): n for state, n in by_state}
    deltas[ALL] = sum(n for _, n in by_state)
    add(session, {k: n for k, n in deltas.items() if n})
    session.commit()
    return True
