"""What the client's experiment calls raise (all :class:`~headrace.ClientError`s).

::

    ExperimentError             root of the experiment errors
    ├── ExperimentNotFound      no such experiment in the namespace (also a LookupError)
    ├── ExperimentExistsError   an experiment of that name exists with another spec (ValueError)
    ├── ExperimentTimeout       an experiment did not end in time (also a TimeoutError)
    └── ExperimentFailedError   an experiment ``run_experiment`` waited for failed, was
                                stopped or deleted; its ``experiment`` view has the reason
                                and trials
"""

from __future__ import annotations

from headrace_contracts import ExperimentView

from .run_errors import ClientError

__all__ = [
    "ExperimentError",
    "ExperimentExistsError",
    "ExperimentFailedError",
    "ExperimentNotFound",
    "ExperimentTimeout",
]


class ExperimentError(ClientError):
    pass


class ExperimentNotFound(ExperimentError, LookupError):
    def __init__(self, name: str, namespace: str) -> None:
        self.name = name
        self.namespace = namespace
        super().__init__(
            f"no experiment {name!r} in namespace {namespace!r}: list them with "
            "`headrace experiment list`"
        )


class ExperimentExistsError(ExperimentError, ValueError):
    def __init__(self, name: str, namespace: str, state: str) -> None:
        self.name = name
        self.namespace = namespace
        super().__init__(
            f"experiment {name!r} exists in namespace {namespace!r} ({state}) with another "
            f"spec: delete it first (`headrace experiment delete {name}`) or give the new one "
            "another metadata.name"
        )


class ExperimentTimeout(ExperimentError, TimeoutError):
    retryable = True

    def __init__(self, name: str, state: str, timeout: float) -> None:
        self.name = name
        self.state = state
        super().__init__(
            f"experiment {name!r} is still {state} after {timeout:g}s: wait longer, or look "
            f"at its trials with `headrace experiment get {name}`"
        )


class ExperimentFailedError(ExperimentError):
    def __init__(self, experiment: ExperimentView, why: str) -> None:
        self.experiment = experiment
        super().__init__(f"experiment '{experiment.namespace}/{experiment.name}' {why}")
