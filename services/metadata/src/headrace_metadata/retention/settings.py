"""Settings of the retention of finished runs (``HEADRACE_METADATA_RETAIN_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .policy import Policy

__all__ = ["RetentionSettings"]


class RetentionSettings(BaseSettings):
    """``HEADRACE_METADATA_RETAIN_DAYS`` (or ``_SECONDS``): remove finished runs that finished
    longer ago; ``HEADRACE_METADATA_RETAIN_RUNS``: keep only the newest N finished runs (both
    off by default; either or both); ``HEADRACE_METADATA_RETAIN_DELETE_ARTIFACTS``: also
    remove their ``runs/<run_id>/`` folders from the artifact store (default off);
    ``HEADRACE_METADATA_RETAIN_INTERVAL_SECONDS``: how often the service sweeps (default
    3600); ``HEADRACE_METADATA_RETAIN_BATCH``: runs removed per transaction (default 100);
    ``HEADRACE_METADATA_RETAIN_LOCK_SECONDS``: how long one replica's sweep holds the
    database lock before another may take it over (default 600)."""

    model_config = SettingsConfigDict(env_prefix="HEADRACE_METADATA_RETAIN_", extra="ignore")

    days: float | None = Field(default=None, gt=0)
    seconds: float | None = Field(default=None, gt=0)
    runs: int | None = Field(default=None, ge=0)
    delete_artifacts: bool = False
    interval_seconds: float = Field(default=3600.0, gt=0)
    batch: int = Field(default=100, ge=1)
    lock_seconds: float = Field(default=600.0, gt=0)

    def policy(self) -> Policy:
        """The configured policy; ``seconds`` wins over ``days`` when both are set."""
        age = self.seconds if self.seconds is not None else None
        if age is None and self.days is not None:
            age = self.days * 86400
        return Policy(older_than_seconds=age, keep=self.runs)
