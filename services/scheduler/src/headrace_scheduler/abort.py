"""Ending a run the scheduler could not carry on: pure code over the run's state.

When a message about a run cannot be handled (the bus gave up on it), the run must not wait
forever. :func:`abort_run` marks the step the message was about ``FAILED`` with the error,
cancels every other step that has not finished (those that may be running are returned, to
be stopped), fails the DAGs still open and the run itself. It needs neither the plan nor the
state machine, since either may be what failed; exit handlers do not run.
"""

from __future__ import annotations

from .state import RunState

STEP_KINDS = ("container", "importer")


def abort_run(run: RunState, error: str, *, step_id: str, now: str) -> list[str]:
    """Fail ``run`` (and ``step_id``, if it is one of its steps) with ``error``.

    Returns the ids of the steps that may be running and must be stopped. A run that has
    already ended is left as it is (and nothing is returned).
    """
    if run.finished:
        return []
    stop: list[str] = []
    for node in run.nodes.values():
        if node.terminal:
            continue
        was = node.state
        node.finished_at = now
        node.stopping = False
        if node.id == step_id and node.kind in STEP_KINDS:
            node.state = "FAILED"
            node.reason = error
            run.failed_steps.append(node.id)
        elif node.kind in STEP_KINDS:
            node.state = "CANCELLED"
            node.reason = f"not run: {error}" if was == "PENDING" else f"stopped: {error}"
        else:
            node.state = "FAILED"
            node.reason = error
        if node.kind in STEP_KINDS and was in ("READY", "RUNNING"):
            stop.append(node.id)
    run.state = "FAILED"
    run.failing = True
    run.error = error
    run.finished_at = now
    return stop
