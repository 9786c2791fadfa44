"""``ListRuns`` from the read model: filters, one sort, keyset pages and a true total.

Each filter and sort maps onto an index of :mod:`.tables`; a page is one range scan of
``limit + 1`` rows (the extra one says whether there is a next page), never an OFFSET.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import exists, tuple_
from sqlmodel import Session, col, func, select

from headrace_contracts import ListRuns, RunList
from headrace_contracts.run_views import RUN_SORTS, RUN_STATES

from . import counts, page_token
from .fold import utc
from .page_token import BadQuery, Cursor
from .tables import LabelRow, RunRow, StepRow
from .views import run_view

STEP_KINDS = ("container", "importer")
SORT_COLUMNS: dict[str, Any] = {
    "created": RunRow.created_at,
    "finished": RunRow.finished_order,
    "duration": RunRow.duration_order,
}


def list_runs(session: Session, query: ListRuns) -> RunList:
    """One page of the runs ``query`` asks for; a bad query is answered with ``error``."""
    try:
        return _list(session, query)
    except BadQuery as exc:
        return RunList(error=str(exc))


def _list(session: Session, query: ListRuns) -> RunList:
    check(query)
    where = filters(query)
    sort = col(SORT_COLUMNS[query.sort])
    run_id = col(RunRow.run_id)
    page = list(where)
    if query.page_token:
        cursor = page_token.decode(query.page_token, sort=query.sort, ascending=query.ascending)
        value, after = cursor.value, cursor.run_id
        # A row-value comparison: both databases bound the index range scan with it, where
        # "sort < v OR (sort = v AND id < r)" has PostgreSQL filter (or sort) every row before.
        key = tuple_(sort, run_id)
        page.append(key > (value, after) if query.ascending else key < (value, after))
    order = (sort.asc(), run_id.asc()) if query.ascending else (sort.desc(), run_id.desc())
    rows = list(session.exec(select(RunRow).where(*page).order_by(*order).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    total = _total(session, query, where)
    counts = step_states(session, [r.run_id for r in rows])
    next_token = ""
    if more:
        last = rows[-1]
        value = getattr(last, SORT_COLUMNS[query.sort].key)
        next_token = page_token.encode(Cursor(query.sort, query.ascending, value, last.run_id))
    return RunList(
        runs=[run_view(r, step_states=counts.get(r.run_id, {})) for r in rows],
        total=total,
        next_page_token=next_token,
    )


def _total(session: Session, query: ListRuns, where: list[Any]) -> int:
    """How many runs match: the kept count when only the state is filtered, else counted."""
    only_state = not (
        query.pipeline
        or query.experiment
        or query.labels
        or query.created_after is not None
        or query.created_before is not None
    )
    kept = counts.total(session, query.state.upper()) if only_state else None
    if kept is not None:
        return kept
    counted: int = session.exec(select(func.count()).select_from(RunRow).where(*where)).one()
    return counted


def check(query: ListRuns) -> None:
    """Refuse what the contract's types let through but no run can match."""
    if query.sort not in RUN_SORTS:
        raise BadQuery(f"sort {query.sort!r} is not known: sort by {', '.join(RUN_SORTS)}")
    if query.state and query.state.upper() not in RUN_STATES:
        raise BadQuery(f"state {query.state!r} is not known: one of {', '.join(RUN_STATES)}")
    for key in query.labels:
        if not key or "=" in key:
            raise BadQuery(f"label key {key!r} is not valid: give labels as key=value")
    after, before = query.created_after, query.created_before
    if after is not None and before is not None and utc(after) >= utc(before):
        raise BadQuery(
            f"created_after ({after.isoformat()}) is not before created_before "
            f"({before.isoformat()}): no run can match; swap or widen them"
        )


def filters(query: ListRuns) -> list[Any]:
    where: list[Any] = []
    if query.state:
        where.append(col(RunRow.state) == query.state.upper())
    if query.pipeline:
        where.append(col(RunRow.pipeline_name) == query.pipeline)
    if query.experiment:
        where.append(col(RunRow.experiment) == query.experiment)
    for key, value in sorted(query.labels.items()):
        where.append(
            exists().where(
                col(LabelRow.run_id) == col(RunRow.run_id),
                col(LabelRow.key) == key,
                col(LabelRow.value) == value,
            )
        )
    if query.created_after is not None:
        where.append(col(RunRow.created_at) >= utc(query.created_after))
    if query.created_before is not None:
        where.append(col(RunRow.created_at) < utc(query.created_before))
    return where


def step_states(session: Session, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """How many container and importer steps of each run are in each state (not the DAGs,
    loops and iterations that a skip names)."""
    if not run_ids:
        return {}
    found = session.exec(
        select(StepRow.run_id, StepRow.state, func.count())
        .where(col(StepRow.run_id).in_(run_ids), col(StepRow.kind).in_(STEP_KINDS))
        .group_by(col(StepRow.run_id), col(StepRow.state))
    ).all()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for run_id, state, count in found:
        counts[run_id][state] = count
    return dict(counts)
