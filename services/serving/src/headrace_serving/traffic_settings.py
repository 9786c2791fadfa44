"""``HEADRACE_SERVING_TRAFFIC_INTERVAL``: how often (seconds, default 5) the local data
plane publishes each busy InferenceService's traffic summary (`InferenceTrafficSummarized`,
telemetry over core NATS); ``0`` turns it off. Built at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["TrafficSettings"]


class TrafficSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADRACE_SERVING_TRAFFIC_", extra="ignore")

    interval: float = Field(default=5.0, ge=0)

    def every(self) -> float | None:
        """The reporting interval in seconds, None when off."""
        return self.interval or None
