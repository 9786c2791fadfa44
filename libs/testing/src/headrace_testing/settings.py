"""Service settings for tests: quick retries and outbox sweeps, so a failure shows fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headrace_runtime import Settings


def service_settings(home: Path, nats_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "nats_url": nats_url,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "outbox_interval": 0.2,
    }
    values.update(overrides)
    return Settings(**values)
