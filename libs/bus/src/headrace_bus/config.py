"""Settings of the bus, built once at service start."""

from __future__ import annotations

from dataclasses import dataclass, field

from .policy import RetryPolicy

DEFAULT_URL = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class BusConfig:
    url: str = DEFAULT_URL
    stream: str = "HEADRACE"
    dlq_stream: str = "HEADRACE_DLQ"
    external_stream: str = "HEADRACE_EXT"
    """Stores other systems' CloudEvents, published on ``headrace.ext.>`` (event triggers)."""
    stream_replicas: int = 1
    duplicate_window: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ack_wait: float = 10.0
    max_ack_pending: int = 1000
    # Messages per fetch at most (see headrace_bus.puller): a fetch takes what is pending,
    # and when nothing is, waits up to fetch_timeout for the first message.
    batch_size: int = 256
    fetch_timeout: float = 1.0
    publish_timeout: float = 5.0
    publish_attempts: int = 20
    connect_timeout: float = 5.0
    client_name: str = "headrace"

    @property
    def dlq_prefix(self) -> str:
        return "headrace.dlq"

    @property
    def external_prefix(self) -> str:
        return "headrace.ext"
