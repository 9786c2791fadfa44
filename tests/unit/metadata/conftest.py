"""A fresh lineage store per name: its own SQLite file, or its own PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lineage_events import Store
from sqlalchemy import Engine

from headrace_metadata.lineage.tables import LINEAGE_TABLES
from headrace_runtime.database import build_engine, create_tables


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    engines: list[Engine] = []

    def make(name: str) -> Engine:
        url = database_url
        if url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
        engine = build_engine(url, f"lineage_{name}")
        create_tables(engine, LINEAGE_TABLES)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
