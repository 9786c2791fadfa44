"""An alias moves by compare-and-set on a real database (SQLite, and PostgreSQL with
HEADRACE_TEST_DATABASE_URL): a promotion decided on a stale read updates nothing and is
retried, so a concurrent move is never overwritten unseen."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from headrace_metadata.registry.recording import MoveRaced, _hold_live, _move_alias
from headrace_metadata.registry.tables import (
    TABLES,
    AliasRow,
    ModelVersionRow,
    RegisteredModelRow,
)
from headrace_runtime import build_engine, create_tables

pytestmark = pytest.mark.postgres


def test_a_move_decided_on_a_stale_alias_is_retried_and_changes_nothing(
    database_url: str,
) -> None:
    engine = build_engine(database_url, "metadata")
    create_tables(engine, TABLES)
    try:
        with Session(engine, expire_on_commit=False) as session:
            model = RegisteredModelRow(name="iris")
            session.add(model)
            session.flush()
            assert model.id is not None
            assert _move_alias(session, model.id, "production", None, 1) == 1
            session.commit()
            model_id = model.id
        with Session(engine, expire_on_commit=False) as first, Session(engine) as second:
            seen_by_first = first.exec(select(AliasRow)).one()
            seen_by_second = second.exec(select(AliasRow)).one()
            assert _move_alias(second, model_id, "production", seen_by_second, 2) == 2
            second.commit()
            with pytest.raises(MoveRaced, match="alias 'production' moved while"):
                _move_alias(first, model_id, "production", seen_by_first, 3)
            first.rollback()
        with Session(engine) as session:
            alias = session.exec(select(AliasRow)).one()
            assert (alias.version, alias.revision) == (2, 2)
    finally:
        engine.dispose()


def test_a_version_archived_after_the_decision_is_not_promoted(database_url: str) -> None:
    engine = build_engine(database_url, "metadata")
    create_tables(engine, TABLES)
    try:
        with Session(engine, expire_on_commit=False) as session:
            model = RegisteredModelRow(name="iris")
            session.add(model)
            session.flush()
            assert model.id is not None
            session.add(ModelVersionRow(model_id=model.id, version=1, uri="file:///m/1"))
            session.commit()
        with Session(engine, expire_on_commit=False) as promoting, Session(engine) as archiving:
            decided_on = promoting.exec(select(ModelVersionRow)).one()
            assert decided_on.state == "LIVE"
            archived = archiving.exec(select(ModelVersionRow)).one()
            archived.state = "ARCHIVED"
            archiving.add(archived)
            archiving.commit()
            with pytest.raises(MoveRaced, match="version 1 was archived while"):
                _hold_live(promoting, decided_on)
            promoting.rollback()
    finally:
        engine.dispose()
