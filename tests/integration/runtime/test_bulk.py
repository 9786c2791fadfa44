"""Bulk statements on both databases: many rows in one statement whose text does not depend
on the row count, ``ON CONFLICT DO NOTHING`` telling which rows it inserted, JSON, times and
NULLs kept as given."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, select

from headrace_runtime.bulk import among, insert_rows
from headrace_runtime.database import build_engine


def _table() -> Table:
    return Table(
        "bulk_rows",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(50), unique=True, nullable=False),
        Column("size", Integer, nullable=True),
        Column("properties", JSON, nullable=False),
        Column("at", DateTime(timezone=True), nullable=True),
    )


def test_rows_inserted_found_and_skipped_when_they_exist(database_url: str) -> None:
    table = _table()
    engine = build_engine(database_url, "bulk")
    table.metadata.create_all(engine)
    when = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    rows: list[dict[str, Any]] = [
        {"name": f"r{i}", "size": i if i % 2 else None, "properties": {"i": i}, "at": when}
        for i in range(300)
    ]
    try:
        with engine.begin() as conn:
            assert insert_rows(conn, table, rows[:200]) == []
            again = rows[150:]  # 50 exist already
            created = insert_rows(conn, table, again, skip_existing=True, returning=("name",))
            assert sorted(created) == sorted((row["name"],) for row in rows[200:])
            assert insert_rows(conn, table, []) == []
            wanted = ["r1", "r2", "r299", "missing"]
            found = conn.execute(
                select(table).where(among(table.c.name, "names", conn.dialect.name)),
                {"names": wanted},
            ).mappings()
            by_name = {row["name"]: row for row in found}
        assert sorted(by_name) == ["r1", "r2", "r299"]
        assert by_name["r1"]["size"] == 1
        assert by_name["r2"]["size"] is None
        assert by_name["r299"]["properties"] == {"i": 299}
        at = by_name["r1"]["at"]  # SQLite keeps no zone: the time is as given, in UTC
        assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == when
    finally:
        engine.dispose()
