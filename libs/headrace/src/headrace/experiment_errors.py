"""What the client's experiment calls raise (all :class:`~headrace.ClientError`s).

::

    ExperimentError             root of the experiment errors
    ├── ExperimentNotFound      no such experiment in the namespace (also a LookupError)
    ├── ExperimentExistsError   an experiment of that name exists with another spec (ValueError)
    └── ExperimentTimeout       an experiment did not end in time (also a TimeoutError)
"""

from __future__ import annotations

from .run_errors import ClientError

__all__ = ["ExperimentError", "ExperimentExistsError", "ExperimentNotFound", "ExperimentTimeout"]


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
