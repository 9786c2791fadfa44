"""Fixtures: the pipeline platform of ``tests/integration/pipelines`` (scheduler + trainer +
metadata on a real nats-server), reused as is; and bare lineage stores (``store``): a fresh
one per name, its own SQLite file or its own PostgreSQL schema."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lineage_events import Store
from sqlalchemy import Engine

from headrace_metadata.lineage.tables import LINEAGE_TABLES
from headrace_runtime.database import build_engine, create_tables

_PIPELINES = Path(__file__).parent.parent / "pipelines"
if str(_PIPELINES) not in sys.path:
    sys.path.insert(0, str(_PIPELINES))

_spec = importlib.util.spec_from_file_location("pipelines_conftest", _PIPELINES / "conftest.py")
assert _spec is not None
assert _spec.loader is not None
_pipelines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pipelines)

settings = _pipelines.settings
settings_on_each_database = _pipelines.settings_on_each_database
start_platform = _pipelines.start_platform
platform = _pipelines.platform


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
