"""Errors of the workload launcher.

::

    TrainerError                    root of everything the trainer raises
    ├── StepError                   the step cannot run or its results are unusable;
    │   │                           becomes StepFailed with ``reason`` (never retried here:
    │   │                           the scheduler decides about retries)
    │   ├── PlaceholderError        a command placeholder cannot be resolved
    │   ├── OutputError             a declared output is missing or malformed
    │   └── ContainerRefused        a container image the local backend cannot run
    ├── ForkServerDied              the warm fork server stopped (the runner falls back)
    └── StepLost                    a step's process ended unrecorded (it runs again)
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


class ForkServerDied(TrainerError):
    """The fork server stopped; steps it was running have an unknown result."""

    retryable = True


class StepLost(TrainerError):
    """A step's process ended and nobody recorded how (its parent died with it): the
    launcher runs the step again."""

    retryable = True
