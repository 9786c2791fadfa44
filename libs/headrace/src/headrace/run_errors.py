"""What the Headrace client raises; every message names the thing at fault and the fix.

::

    ClientError                 root; ``retryable`` says whether trying again may help
    ├── PlatformUnavailable     NATS unreachable, or no scheduler answers on it
    ├── PipelineLoadError       the pipeline cannot be read or compiled (also a ValueError)
    ├── RunRejectedError        the spec or the arguments cannot run, found locally or by
    │                           the scheduler (also a ValueError); ``run_id``, ``reason``
    ├── RunNotFound             no run with that id (also a LookupError)
    ├── RunExistsError          submit with a run id that is taken (also a ValueError)
    ├── BadListQuery            a run listing's filter, sort, limit or page token is not
    │                           valid (also a ValueError)
    └── RunTimeout              a run did not reach an end state in time (also a
                                TimeoutError); ``run_id``, ``state``
"""

from __future__ import annotations


class ClientError(Exception):
    retryable = False


class PlatformUnavailable(ClientError):
    """Nothing answers: NATS is down, or the scheduler does not run."""

    retryable = True

    def __init__(self, nats_url: str, detail: str = "") -> None:
        self.nats_url = nats_url
        super().__init__(
            detail
            or f"no scheduler answers on NATS at {nats_url}: start the platform with `headrace up`"
        )


class PipelineLoadError(ClientError, ValueError):
    """The pipeline source is missing, unreadable or not a single kfp pipeline."""


class RunRejectedError(ClientError, ValueError):
    def __init__(self, reason: str, *, run_id: str = "") -> None:
        self.run_id = run_id
        self.reason = reason
        where = f"run {run_id!r} rejected: " if run_id else "pipeline rejected: "
        super().__init__(where + reason)


class RunNotFound(ClientError, LookupError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"no run {run_id!r} is known to the scheduler: list runs with `headrace run list`"
        )


class RunExistsError(ClientError, ValueError):
    def __init__(self, run_id: str, state: str) -> None:
        self.run_id = run_id
        self.state = state
        super().__init__(
            f"run {run_id!r} already exists ({state}): choose another run id, or leave it "
            "out to get a fresh one"
        )


class BadListQuery(ClientError, ValueError):
    """``list_runs`` with a filter, sort, limit or page token that cannot be answered."""


class RunTimeout(ClientError, TimeoutError):
    retryable = True

    def __init__(self, run_id: str, state: str, timeout: float) -> None:
        self.run_id = run_id
        self.state = state
        super().__init__(
            f"run {run_id!r} is still {state} after {timeout:g}s: wait longer, or watch it "
            f"with `headrace run watch {run_id}`"
        )
