"""Service settings from the environment (``HEADRACE_`` prefix), built once at start."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from headrace_bus import DEFAULT_URL, BusConfig, RetryPolicy


def default_home() -> Path:
    return Path(os.environ.get("HEADRACE_HOME") or Path.home() / ".headrace")


class Settings(BaseSettings):
    """Everything a service process needs to build itself.

    ``HEADRACE_<SERVICE>_DATABASE_URL`` overrides ``HEADRACE_DATABASE_URL`` for one service;
    with neither, each service keeps a SQLite file in the home folder.
    """

    model_config = SettingsConfigDict(env_prefix="HEADRACE_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    nats_url: str = DEFAULT_URL
    database_url: str | None = None
    artifacts: str | None = Field(default=None, description="artifact store root URI")
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_secure: bool = False
    s3_region: str | None = None
    instance_id: str = ""
    log_level: str = "INFO"
    stream_replicas: int = 1
    max_deliver: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    ack_wait: float = 10.0
    batch_size: int = Field(
        default=256,
        ge=1,
        description="messages fetched and handled in one transaction at most (a service "
        "whose handlers run long work, such as the trainer, handles one at a time)",
    )
    outbox_interval: float = 1.0
    metrics_port: str = Field(
        default="0",
        description="the port of the service's Prometheus /metrics endpoint: 0 takes any "
        "free one (shown by `headrace status`), 'off' serves none",
    )
    metrics_host: str = Field(default="127.0.0.1", description="0.0.0.0 in a pod")
    metrics_lag_interval: float = Field(
        default=15.0, gt=0, description="seconds between two reads of the consumer's lag"
    )

    def database_url_for(self, service: str) -> str:
        specific = os.environ.get(f"HEADRACE_{service.upper()}_DATABASE_URL")
        if specific:
            return specific
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / f'{service}.db'}"

    def artifacts_root(self) -> str:
        return self.artifacts or (self.home / "artifacts").as_uri()

    def s3_options(self) -> dict[str, Any]:
        """The ``s3_*`` keyword arguments of ``headrace_artifacts.open_store``."""
        return {
            "s3_endpoint": self.s3_endpoint,
            "s3_access_key": self.s3_access_key,
            "s3_secret_key": self.s3_secret_key,
            "s3_secure": self.s3_secure,
            "s3_region": self.s3_region,
        }

    def instance(self, service: str) -> str:
        return self.instance_id or f"{service}-{socket.gethostname()}-{os.getpid()}"

    def bus_config(self, service: str) -> BusConfig:
        return BusConfig(
            url=self.nats_url,
            stream_replicas=self.stream_replicas,
            retry=RetryPolicy(
                max_deliver=self.max_deliver,
                backoff_initial=self.backoff_initial,
                backoff_max=self.backoff_max,
            ),
            ack_wait=self.ack_wait,
            batch_size=self.batch_size,
            client_name=self.instance(service),
        )
