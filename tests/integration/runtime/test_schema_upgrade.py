"""A service started on a store an earlier release made adds the columns its tables have
gained since, on SQLite and on PostgreSQL: the rows already stored stay and get the column's
default (or NULL); a second start changes nothing; a column that cannot be added to stored
rows is refused with the table, the column and what to do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, String, Table, inspect, select, text

from headrace_runtime import SchemaUpgradeError, build_engine, create_tables, schema_for
from headrace_testing import postgres_url


def _release(*extra: Column[Any]) -> Any:
    """The table ``things`` as a release declares it (what ``create_tables`` reads of a model)."""
    table = Table(
        "things",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String, nullable=False),
        *extra,
    )
    return cast(Any, SimpleNamespace(__table__=table))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = build_engine(f"sqlite:///{tmp_path / 'store.db'}", "things")
        yield made
        made.dispose()
        return
    url = postgres_url()
    if url is None:
        pytest.skip("needs HEADRACE_TEST_DATABASE_URL (set by .ci/run when a server answers)")
    service = f"upgrade{uuid.uuid4().hex[:8]}"
    made = build_engine(url, service)
    try:
        yield made
    finally:
        with made.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema_for(service)}" CASCADE'))
        made.dispose()


def test_columns_added_in_a_later_release_are_added_and_stored_rows_kept(engine: Engine) -> None:
    old = _release()
    create_tables(engine, [old])
    with engine.begin() as conn:
        conn.execute(old.__table__.insert().values(id=1, name="before"))

    new = _release(
        Column("labels", JSON),
        Column("state", String, nullable=False, server_default="PENDING"),
    )
    create_tables(engine, [new])
    create_tables(engine, [new])  # a second start: nothing left to add
    columns = [c["name"] for c in inspect(engine).get_columns("things")]
    assert columns == ["id", "name", "labels", "state"]
    table = new.__table__
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=2, name="after", labels={"a": "b"}, state="DONE"))
        rows = conn.execute(select(table).order_by(table.c.id)).all()
    assert [tuple(row) for row in rows] == [
        (1, "before", None, "PENDING"),
        (2, "after", {"a": "b"}, "DONE"),
    ]


def test_a_required_column_without_a_default_is_refused_by_name(engine: Engine) -> None:
    create_tables(engine, [_release()])
    with engine.begin() as conn:
        conn.execute(_release().__table__.insert().values(id=1, name="before"))
    # a column that could be added comes first: it is not added either
    required = _release(Column("labels", JSON), Column("owner", String, nullable=False))
    with pytest.raises(SchemaUpgradeError) as refused:
        create_tables(engine, [required])
    message = str(refused.value)
    assert "table 'things'" in message
    assert "column 'owner'" in message
    assert "new database" in message
    assert [c["name"] for c in inspect(engine).get_columns("things")] == ["id", "name"]
