"""What the client's training-job calls raise (all :class:`~headrace.ClientError`s).

::

    TrainingJobError            root of the training-job errors
    ├── JobNotFound             no such job in the namespace (also a LookupError)
    ├── ManifestRejected        the YAML cannot become a job (also a ValueError); ``problems``
    │                           lists each (document, field path, what to change)
    ├── JobExistsError          a job of that name exists with another spec (ValueError)
    ├── JobTimeout              a job did not end in time (also a TimeoutError)
    └── JobFailedError          a job ``run_job`` waited for failed or was deleted; its
                                ``job`` view has the reason, exit code and log tail
"""

from __future__ import annotations

from collections.abc import Sequence

from headrace_contracts import TrainingJobView
from headrace_contracts.kubeflow import Problem

from .run_errors import ClientError

__all__ = [
    "JobExistsError",
    "JobFailedError",
    "JobNotFound",
    "JobTimeout",
    "ManifestRejected",
    "TrainingJobError",
]


class TrainingJobError(ClientError):
    pass


class JobNotFound(TrainingJobError, LookupError):
    def __init__(self, name: str, namespace: str) -> None:
        self.name = name
        self.namespace = namespace
        super().__init__(
            f"no training job {name!r} in namespace {namespace!r}: list them with "
            "`headrace job list`"
        )


class ManifestRejected(TrainingJobError, ValueError):
    def __init__(self, source: str, message: str, problems: Sequence[Problem] = ()) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"{source}: {message}")


class JobExistsError(TrainingJobError, ValueError):
    def __init__(self, name: str, namespace: str, state: str) -> None:
        self.name = name
        self.namespace = namespace
        super().__init__(
            f"training job {name!r} exists in namespace {namespace!r} ({state}) with another "
            f"spec: delete it first (`headrace job delete {name}`) or give the new one "
            "another metadata.name"
        )


class JobTimeout(TrainingJobError, TimeoutError):
    retryable = True

    def __init__(self, name: str, state: str, timeout: float) -> None:
        self.name = name
        self.state = state
        super().__init__(
            f"training job {name!r} is still {state} after {timeout:g}s: wait longer, or "
            f"follow it with `headrace job logs {name} -f`"
        )


class JobFailedError(TrainingJobError):
    """The first line says which job failed, why and with which exit code (a step's error
    shows it); the replica's last log lines follow."""

    def __init__(self, job: TrainingJobView, why: str) -> None:
        self.job = job
        text = f"training job '{job.namespace}/{job.name}' {why}"
        if job.log_tail:
            text += "\nits last log lines:\n" + job.log_tail
        super().__init__(text)
