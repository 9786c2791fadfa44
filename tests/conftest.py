"""Shared fixtures: a real nats-server per test, SQLite/PostgreSQL, in-memory spans."""

from __future__ import annotations

pytest_plugins = ["headrace_testing.plugin"]
