"""A store made by an earlier release gets the indexes a later one declares when the service
starts on it (``create_tables``), and keeps its rows; a second start changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Index, inspect
from sqlmodel import Field, Session, SQLModel, select

from headrace_runtime import build_engine, create_tables


class OldThing(SQLModel, table=True):
    __tablename__ = "indexed_things"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    owner: str = ""
    state: str = ""


def test_an_index_declared_later_is_made_on_the_existing_table(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'store.db'}", "things")
    create_tables(engine, [OldThing])
    with Session(engine) as session:
        session.add(OldThing(owner="a", state="DONE"))
        session.commit()
    assert inspect(engine).get_indexes("indexed_things") == []

    # The next release declares an index on the same table.
    OldThing.__table__.append_constraint(  # type: ignore[attr-defined]
        Index("indexed_things_owner_state", "owner", "state")
    )
    try:
        create_tables(engine, [OldThing])
        create_tables(engine, [OldThing])  # a second start: already there
        found = inspect(engine).get_indexes("indexed_things")
        assert [(i["name"], i["column_names"]) for i in found] == [
            ("indexed_things_owner_state", ["owner", "state"])
        ]
        with Session(engine) as session:
            assert [t.owner for t in session.exec(select(OldThing))] == ["a"]
    finally:
        OldThing.__table__.indexes.clear()  # type: ignore[attr-defined]
        engine.dispose()
