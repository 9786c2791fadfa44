"""The model server's settings, built once at start (from the CLI, or by whoever builds the
ASGI app) and handed to worker processes as JSON in one environment variable."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

__all__ = ["SETTINGS_ENV", "ServerSettings"]

SETTINGS_ENV = "HEADRACE_MODEL_SERVER_SETTINGS"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    model_name: str
    storage_uri: str
    format: str | None = None
    model_version: str | None = None
    """The version the server reports: the registry's for ``models:/``, else "1"."""
    max_batch_size: int = 1
    """Rows merged into one model call; 1 turns batching off."""
    max_latency_ms: float = 5.0
    """How long the first request of a batch waits for others."""
    max_payload_bytes: int = 64 * 1024 * 1024
    cache_dir: str | None = None
    nats_url: str | None = None
    namespace: str = "default"
    freeze_gc: bool = False
    """``gc.freeze()`` once the model is loaded: for a server process of its own (the CLI)."""

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        raw = env.get(SETTINGS_ENV)
        if not raw:
            raise RuntimeError(
                f"{SETTINGS_ENV} is not set: start the server with `headrace-model-server`"
            )
        return cls(**json.loads(raw))
