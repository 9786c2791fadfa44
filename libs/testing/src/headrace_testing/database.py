"""The database a test runs against: SQLite in the test's folder, or PostgreSQL when
``HEADRACE_TEST_DATABASE_URL`` is set (its ``headrace_*`` schemas are dropped first)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ENV = "HEADRACE_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(ENV) or None


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            schemas = conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'headrace\\_%'")
            ).scalars()
            for schema in list(schemas):
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


def database_url_for(kind: str, tmp_dir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_dir / 'headrace-test.db'}"
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests need {ENV} (set by .ci/run when a server answers)")
    reset_postgres(url)
    return url
