"""Errors of the workload launcher.

::

    TrainerError                    root of everything the trainer raises
    ├── StepError                   the step cannot run or its results are unusable;
    │   │                           becomes StepFailed with ``reason`` (never retried here:
    │   │                           the scheduler decides about retries)
    │   ├── PlaceholderError        a command placeholder cannot be resolved
    │   ├── OutputError             a declared output is missing or malformed
    │   ├── ContainerRefused        a container image the local backend cannot run
    │   └── ManifestUnsupported     a step or job the Kubernetes backend cannot express as
    │                               Kubernetes objects (each problem with its field path)
    ├── ForkServerDied              the warm fork server stopped (the runner falls back)
    ├── StepLost                    a step's process ended unrecorded (it runs again)
    └── WorkloadError               a workload backend cannot do what was asked of a gang
        ├── GangInvalid             a gang description no backend can run
        ├── GangRefused             a gang asking for more than the backend ever has
        ├── GangStopped             a gang stopped before any of its replicas started
        ├── UnknownGang             a gang id the backend neither runs nor recorded
        └── WatchFailed             a Kubernetes watch sent something other than objects or
                                    an expired resourceVersion (retryable)
"""

from __future__ import annotations


class TrainerError(Exception):
    """Root of the trainer's exceptions."""

    retryable = False


class StepError(TrainerError):
    """A step that cannot run or whose results cannot be collected; ``str()`` says why and
    what to change, and is published as the StepFailed reason."""


class PlaceholderError(StepError):
    """A placeholder in the step's command or arguments cannot be resolved."""


class OutputError(StepError):
    """A declared output parameter or artifact is missing or does not parse."""


class ContainerRefused(StepError):
    """A container component on a backend that cannot run images."""


class ManifestUnsupported(StepError):
    """A step (its kfp-kubernetes platform settings) or a training job that the Kubernetes
    backend cannot turn into Kubernetes objects. ``problems`` are ``(path, message)``
    pairs, every one found, never only the first."""

    def __init__(self, what: str, problems: list[tuple[str, str]]) -> None:
        self.what = what
        self.problems = problems
        lines = "; ".join(f"{path}: {message}" if path else message for path, message in problems)
        super().__init__(f"{what} cannot run on Kubernetes: {lines}")


class ForkServerDied(TrainerError):
    """The fork server stopped; steps it was running have an unknown result."""

    retryable = True


class StepLost(TrainerError):
    """A step's process ended and nobody recorded how (its parent died with it): the
    launcher runs the step again."""

    retryable = True


class WorkloadError(TrainerError):
    """A workload backend cannot do what was asked of a gang; ``str()`` says why and what
    to change."""


class GangInvalid(WorkloadError):
    """A gang description that no backend can run (no replicas, a duplicate replica, an
    empty command)."""


class GangRefused(WorkloadError):
    """A gang that asks for more than this backend can ever give it (naming the request and
    what there is)."""


class GangStopped(WorkloadError):
    """A gang stopped while it waited for its resources: none of its replicas started."""


class UnknownGang(WorkloadError):
    """A gang id this backend neither runs nor has records of."""


class WatchFailed(WorkloadError):
    """A Kubernetes watch event that is neither an object change nor an expiry (410): an
    ``ERROR`` with another status, an unknown event type, an object without a uid."""

    retryable = True
