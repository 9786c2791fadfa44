"""Settings of the workload launcher (``HEADRACE_TRAINER_*``), besides the service's own."""

from __future__ import annotations

import os
from typing import Annotated, Any

from kubernetes.utils.quantity import parse_quantity
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["TrainerSettings"]


def _cpus() -> int:
    return os.cpu_count() or 1


class TrainerSettings(BaseSettings):
    """``HEADRACE_TRAINER_CONCURRENCY``: steps this replica runs at once (default: CPUs);
    ``HEADRACE_TRAINER_FORK_SERVER``: start lightweight Python steps from a warm fork
    server (default on); ``HEADRACE_TRAINER_CANCEL_MEMORY_SECONDS``: how long a cancelled
    step is remembered, so a StepReady arriving late for it is answered without running;
    ``HEADRACE_TRAINER_CPUS``/``_MEMORY``/``_GPUS``: the capacity steps are admitted against
    (default: the machine's); ``HEADRACE_TRAINER_CGROUP``: where step memory limits go.

    Per-step Python environments (``packages_to_install``, built with uv under
    ``<home>/envs``): ``HEADRACE_TRAINER_STEP_ENVIRONMENTS`` (default on; off runs every
    step in the platform's environment); ``HEADRACE_TRAINER_FIND_LINKS``: folders or URLs of
    wheels uv may install from (comma-separated); ``HEADRACE_TRAINER_INDEX_URL``: the
    package index when a component names none (default: uv's, PyPI);
    ``HEADRACE_TRAINER_OFFLINE``: never reach the network (find-links and uv's cache only);
    ``HEADRACE_TRAINER_INSTALL_TIMEOUT_SECONDS``: how long an install may take when the step
    has no timeout of its own; ``HEADRACE_TRAINER_INSTALL_HTTP_TIMEOUT_SECONDS``: uv's
    timeout for one HTTP read; ``HEADRACE_TRAINER_INSTALL_HTTP_RETRIES``: how often uv
    retries a failed request; ``HEADRACE_TRAINER_WARM_ENVIRONMENTS``: step environments
    whose fork servers are kept warm (the least recently used idle one is stopped).

    ``HEADRACE_TRAINER_RECORD_RETENTION_SECONDS``: how long a finished step attempt's
    outcome record is kept (for a redelivery after a trainer died before acknowledging).

    Training jobs: ``HEADRACE_TRAINER_JOB_BACKOFF_SECONDS`` (the first whole-gang restart's
    wait, doubling up to 60 s), ``HEADRACE_TRAINER_JOB_LOG_UPLOAD_SECONDS`` (how often a
    running replica's log is copied to the artifact store, where ``headrace job logs`` reads
    it)."""

    model_config = SettingsConfigDict(env_prefix="HEADRACE_TRAINER_", extra="ignore")

    concurrency: int = Field(default_factory=_cpus, ge=1)
    fork_server: bool = True
    cancel_memory_seconds: float = Field(default=3600.0, ge=0)
    record_retention_seconds: float = Field(default=86400.0, ge=0)
    # Capacity of the local backend (see machine.py); None: what the machine has.
    cpus: float | None = Field(default=None, gt=0)
    memory: str | None = None
    gpus: str | None = None
    # a delegated cgroup folder (v2, or a v1 memory folder) for step limits (see cgroups.py)
    cgroup: str = ""

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

    @property
    def prune_interval(self) -> float:
        """Seconds between sweeps of old step attempt records."""
        return min(max(self.record_retention_seconds / 4, 1.0), 3600.0)

    # Training jobs: the first whole-gang restart waits this long (doubling, at most 60 s),
    # and running replicas' logs are copied to the artifact store this often.
    job_backoff_seconds: float = Field(default=1.0, ge=0)
    job_log_upload_seconds: float = Field(default=2.0, gt=0)

    step_environments: bool = True
    find_links: Annotated[list[str], NoDecode] = Field(default_factory=list)
    index_url: str = ""
    offline: bool = False
    install_timeout_seconds: float = Field(default=600.0, gt=0)
    install_http_timeout_seconds: float = Field(default=30.0, gt=0)
    install_http_retries: int = Field(default=3, ge=0)
    warm_environments: int = Field(default=4, ge=0)

    @field_validator("find_links", mode="before")
    @classmethod
    def _split_links(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
