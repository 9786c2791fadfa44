"""Run ids the client makes up (see :mod:`headrace_pipelines.run_ids`, shared with the
dashboard's HTTP API)."""

from __future__ import annotations

from headrace_pipelines.run_ids import RUN_ID, new_run_id, run_id_problem

from .run_errors import RunRejectedError

__all__ = ["RUN_ID", "check_run_id", "new_run_id"]


def check_run_id(run_id: str) -> str:
    """``run_id`` if the scheduler accepts it; :class:`RunRejectedError` saying what is."""
    problem = run_id_problem(run_id)
    if problem:
        raise RunRejectedError(problem)
    return run_id
