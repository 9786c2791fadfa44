"""Settings of the workload launcher (``HEADRACE_TRAINER_*``), besides the service's own."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["TrainerSettings"]


def _cpus() -> int:
    return os.cpu_count() or 1


class TrainerSettings(BaseSettings):
    """``HEADRACE_TRAINER_CONCURRENCY``: steps this replica runs at once (default: CPUs);
    ``HEADRACE_TRAINER_FORK_SERVER``: start lightweight Python steps from a warm fork
    server (default on); ``HEADRACE_TRAINER_CANCEL_MEMORY_SECONDS``: how long a cancelled
    step is remembered, so a StepReady arriving late for it is answered without running;
    ``HEADRACE_TRAINER_RECORD_RETENTION_SECONDS``: how long a finished step attempt's
    outcome record is kept (for a redelivery after a trainer died before acknowledging)."""

    model_config = SettingsConfigDict(env_prefix="HEADRACE_TRAINER_", extra="ignore")

    concurrency: int = Field(default_factory=_cpus, ge=1)
    fork_server: bool = True
    cancel_memory_seconds: float = Field(default=3600.0, ge=0)
    record_retention_seconds: float = Field(default=86400.0, ge=0)

    @property
    def prune_interval(self) -> float:
        """Seconds between sweeps of old step attempt records."""
        return min(max(self.record_retention_seconds / 4, 1.0), 3600.0)

    @property
    def handler_concurrency(self) -> int:
        """Messages the service handles at once: steps waiting for a slot or for their
        ``not_before`` must not keep other messages (cancels, ready steps) waiting."""
        return self.concurrency * 2 + 8
