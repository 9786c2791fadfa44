"""Run ids a submitter makes up: ``<pipeline-name>-<yyyymmdd-hhmmss>-<6 hex>``, lower-case,
shared by the client and the dashboard's HTTP API.

They match the scheduler's rule (``^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$``) whatever the
pipeline is called, sort by submission time within a pipeline, and do not collide when two
runs start in the same second.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

__all__ = ["RUN_ID", "new_run_id", "run_id_problem"]

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NAME_BUDGET = 128 - len("-20250101-120000-abcdef")
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")


def new_run_id(pipeline_name: str, *, now: datetime | None = None, token: str | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    name = _NOT_ALLOWED.sub("-", pipeline_name.lower()).strip("-")[:_NAME_BUDGET].rstrip("-")
    return f"{name or 'run'}-{stamp}-{token or secrets.token_hex(3)}"


def run_id_problem(run_id: str) -> str:
    """Why the scheduler would refuse ``run_id``; '' when it would take it."""
    if RUN_ID.match(run_id):
        return ""
    return (
        f"run id {run_id!r} must be 1-128 letters, digits, '.', '_' or '-', starting "
        "with a letter or digit"
    )
