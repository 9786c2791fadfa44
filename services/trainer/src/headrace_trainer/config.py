"""Settings of the workload launcher (``HEADRACE_TRAINER_*``), besides the service's own."""

from __future__ import annotations

import os

from kubernetes.utils.quantity import parse_quantity
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["TrainerSettings"]


def _cpus() -> int:
    return os.cpu_count() or 1


class TrainerSettings(BaseSettings):
    """``HEADRACE_TRAINER_CONCURRENCY``: steps this replica runs at once (default: CPUs);
    ``HEADRACE_TRAINER_FORK_SERVER``: start lightweight Python steps from a warm fork
    server (default on); ``HEADRACE_TRAINER_CANCEL_MEMORY_SECONDS``: how long a cancelled
    step is remembered, so a StepReady arriving late for it is answered without running;
    ``HEADRACE_TRAINER_CPUS``/``_MEMORY``/``_GPUS``: the capacity steps are admitted against
    (default: the machine's); ``HEADRACE_TRAINER_CGROUP``: where step memory limits go."""

    model_config = SettingsConfigDict(env_prefix="HEADRACE_TRAINER_", extra="ignore")

    concurrency: int = Field(default_factory=_cpus, ge=1)
    fork_server: bool = True
    cancel_memory_seconds: float = Field(default=3600.0, ge=0)
    # Capacity of the local backend (see machine.py); None: what the machine has.
    cpus: float | None = Field(default=None, gt=0)
    memory: str | None = None
    gpus: str | None = None
    cgroup: str = ""  # a delegated cgroup v2 folder for step limits (see cgroups.py)

    @field_validator("memory")
    @classmethod
    def _memory_quantity(cls, value: str | None) -> str | None:
        if value:
            try:
                parse_quantity(value)
            except ValueError:
                raise ValueError(
                    f"HEADRACE_TRAINER_MEMORY={value!r} is not a Kubernetes quantity: "
                    "write it like 16Gi or 8G"
                ) from None
        return value

    @property
    def handler_concurrency(self) -> int:
        """Messages the service handles at once: steps waiting for a slot or for their
        ``not_before`` must not keep other messages (cancels, ready steps) waiting."""
        return self.concurrency * 2 + 8
