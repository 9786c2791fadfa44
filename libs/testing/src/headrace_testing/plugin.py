"""pytest fixtures booting real dependencies on free ports (loaded by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .database import database_url_for
from .nats import TestNats, nats_for_test


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[TestNats]:
    """A fresh nats-server with JetStream for one test (or the one in ``NATS_URL``)."""
    with nats_for_test(tmp_path) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database: SQLite, and PostgreSQL when HEADRACE_TEST_DATABASE_URL is set."""
    return database_url_for(str(request.param), tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return database_url_for("sqlite", tmp_path)
