"""Replicas of a service starting together on a new PostgreSQL database: each creates its
schema and tables if missing, at the same moment, and none fails on the catalogue's unique
constraints (CREATE ... IF NOT EXISTS alone is not safe against a concurrent creator)."""

from __future__ import annotations

import threading

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


def test_replicas_create_the_same_tables_at_once() -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("needs HEADRACE_TEST_DATABASE_URL (set by .ci/run when a server answers)")
    for attempt in range(3):  # a race: a few fresh starts, each a new schema
        reset_postgres(url)
        start = threading.Barrier(REPLICAS)
        errors: list[Exception] = []
        threads = [
            threading.Thread(target=_replica, args=(url, f"race{attempt}", start, errors))
            for _ in range(REPLICAS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
