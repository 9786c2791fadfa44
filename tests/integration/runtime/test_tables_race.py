"""Replicas of a service starting together on a new database: each creates its schema and
tables if missing, at the same moment, and none fails. On PostgreSQL CREATE ... IF NOT
EXISTS alone is not safe against a concurrent creator (the loser fails on the catalogue's
unique constraints); on SQLite a table checked missing may be made by another replica before
this one creates it ("table ... already exists")."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from headrace_runtime import RUNTIME_TABLES, build_engine, create_tables
from headrace_testing import postgres_url, reset_postgres

REPLICAS = 6


def _replica(url: str, service: str, start: threading.Barrier, errors: list[Exception]) -> None:
    start.wait()
    try:
        engine = build_engine(url, service)
        try:
            create_tables(engine, RUNTIME_TABLES)
        finally:
            engine.dispose()
    except Exception as error:
        errors.append(error)


def _race(url: str, service: str) -> list[Exception]:
    start = threading.Barrier(REPLICAS)
    errors: list[Exception] = []
    threads = [
        threading.Thread(target=_replica, args=(url, service, start, errors))
        for _ in range(REPLICAS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_replicas_create_the_same_tables_at_once_on_sqlite(tmp_path: Path) -> None:
    for attempt in range(10):  # a race: a few fresh starts, each a new file
        url = f"sqlite:///{tmp_path / f'race{attempt}.db'}"
        assert _race(url, "race") == []


def test_replicas_create_the_same_tables_at_once() -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("needs HEADRACE_TEST_DATABASE_URL (set by .ci/run when a server answers)")
    for attempt in range(3):  # a race: a few fresh starts, each a new schema
        reset_postgres(url)
        assert _race(url, f"race{attempt}") == []
