"""What the run state machine asks the world to do; the handlers turn these into messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Launch:
    """Run a container step (or answer it from the cache): publish StepReady."""

    node_id: str


@dataclass(frozen=True)
class Stop:
    """Stop a step that may be running: publish CancelStep."""

    node_id: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    node_id: str
    reason: str


@dataclass(frozen=True)
class Finished:
    """The run reached SUCCEEDED, FAILED or CANCELLED."""

    state: str


Effect = Launch | Stop | Skipped | Finished
