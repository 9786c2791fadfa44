"""Service settings from the environment (``HEADRACE_`` prefix), built once at start."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    ByteSize,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from headrace_bus import (
    DEFAULT_URL,
    DLQ_LIMITS,
    DOMAIN_LIMITS,
    EXTERNAL_LIMITS,
    BusConfig,
    RetryPolicy,
    StreamLimits,
)

ENV_PREFIX = "HEADRACE_"
S = TypeVar("S", bound=BaseSettings)


def default_home() -> Path:
    return Path(os.environ.get("HEADRACE_HOME") or Path.home() / ".headrace")


class Settings(BaseSettings):
    """Everything a service process needs to build itself.

    ``HEADRACE_<SERVICE>_DATABASE_URL`` overrides ``HEADRACE_DATABASE_URL`` for one service;
    with neither, each service keeps a SQLite file in the home folder.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

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
    # How much each stream keeps (see docs/streams.md); 0 means no limit. Sizes take units
    # (4GiB, 500MB) or plain bytes.
    stream_max_age_seconds: float = Field(default=DOMAIN_LIMITS.max_age, ge=0)
    stream_max_bytes: ByteSize = ByteSize(DOMAIN_LIMITS.max_bytes)
    dlq_max_age_seconds: float = Field(default=DLQ_LIMITS.max_age, ge=0)
    dlq_max_bytes: ByteSize = ByteSize(DLQ_LIMITS.max_bytes)
    ext_max_age_seconds: float = Field(default=EXTERNAL_LIMITS.max_age, ge=0)
    ext_max_bytes: ByteSize = ByteSize(EXTERNAL_LIMITS.max_bytes)
    # How long a consumer remembers the ids of the messages it handled (idempotency), and
    # how often / in what batches older records are deleted (see docs/streams.md).
    processed_retain_seconds: float = Field(default=DOMAIN_LIMITS.max_age, gt=0)
    processed_prune_interval_seconds: float = Field(default=3600.0, gt=0)
    processed_prune_batch: int = Field(default=1000, ge=1)

    @field_validator("stream_max_age_seconds", "dlq_max_age_seconds", "ext_max_age_seconds")
    @classmethod
    def _an_age(cls, value: float) -> float:
        if not (value == 0 or value >= 1):
            raise ValueError("must be 0 (no limit) or at least 1 second")
        return value

    @field_validator("stream_max_bytes", "dlq_max_bytes", "ext_max_bytes", mode="wrap")
    @classmethod
    def _a_size(cls, value: Any, parse: ValidatorFunctionWrapHandler) -> ByteSize:
        try:
            size: ByteSize = parse(value)
        except ValidationError:
            size = ByteSize(-1)
        if size < 0:
            raise ValueError("must be a size such as 4GiB or 500MB, or bytes; 0 means no limit")
        return size

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
            stream_limits=StreamLimits(self.stream_max_age_seconds, int(self.stream_max_bytes)),
            dlq_limits=StreamLimits(self.dlq_max_age_seconds, int(self.dlq_max_bytes)),
            external_limits=StreamLimits(self.ext_max_age_seconds, int(self.ext_max_bytes)),
            apply_limits=True,
            retry=RetryPolicy(
                max_deliver=self.max_deliver,
                backoff_initial=self.backoff_initial,
                backoff_max=self.backoff_max,
            ),
            ack_wait=self.ack_wait,
            batch_size=self.batch_size,
            client_name=self.instance(service),
        )


class SettingsError(ValueError):
    """A setting from the environment is not valid; the message names each one."""


def load_settings(**overrides: Any) -> Settings:
    """:class:`Settings` from the environment (and ``overrides``), or a :class:`SettingsError`
    naming every wrong ``HEADRACE_*`` variable, its value and what it must be."""
    return settings_from_environment(Settings, **overrides)


def settings_from_environment(kind: type[S], **overrides: Any) -> S:
    """Any settings class of a service (its own ``HEADRACE_<...>_`` prefix), read as
    :func:`load_settings` reads :class:`Settings`."""
    try:
        return kind(**overrides)
    except ValidationError as exc:
        prefix = str(kind.model_config.get("env_prefix") or "")
        raise SettingsError(describe(exc, prefix)) from None


def describe(error: ValidationError, prefix: str = ENV_PREFIX) -> str:
    """One line per wrong setting: ``HEADRACE_STREAM_MAX_BYTES='-1': <what is wrong>``."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        reason = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{prefix}{field.upper()}={problem['input']!r}: {reason}")
    return "invalid configuration: " + "; ".join(lines)
