"""Settings of the bus, built once at service start."""

from __future__ import annotations

from dataclasses import dataclass, field

from .policy import RetryPolicy

DEFAULT_URL = "nats://127.0.0.1:4222"

DAY = 86400.0
GIB = 1 << 30


@dataclass(frozen=True)
class StreamLimits:
    """How much a stream keeps: the server removes messages older than ``max_age`` seconds
    and, past ``max_bytes``, the oldest ones. 0 means no limit."""

    max_age: float = 0.0
    max_bytes: int = 0

    def __post_init__(self) -> None:
        if not (self.max_age == 0 or self.max_age >= 1):
            raise ValueError(
                f"a stream's max_age must be 0 (no limit) or at least 1 second, got {self.max_age}"
            )
        if self.max_bytes < 0:
            raise ValueError(
                f"a stream's max_bytes must be 0 (no limit) or more, got {self.max_bytes}"
            )


DOMAIN_LIMITS = StreamLimits(max_age=7 * DAY, max_bytes=4 * GIB)
DLQ_LIMITS = StreamLimits(max_age=30 * DAY, max_bytes=1 * GIB)
EXTERNAL_LIMITS = StreamLimits(max_age=7 * DAY, max_bytes=1 * GIB)


@dataclass(frozen=True)
class BusConfig:
    url: str = DEFAULT_URL
    stream: str = "HEADRACE"
    dlq_stream: str = "HEADRACE_DLQ"
    external_stream: str = "HEADRACE_EXT"
    """Stores other systems' CloudEvents, published on ``headrace.ext.>`` (event triggers)."""
    stream_replicas: int = 1
    duplicate_window: float = 120.0
    stream_limits: StreamLimits = DOMAIN_LIMITS
    dlq_limits: StreamLimits = DLQ_LIMITS
    external_limits: StreamLimits = EXTERNAL_LIMITS
    apply_limits: bool = False
    """Also set these limits on streams that exist already (the platform's services do at
    start); without it (clients such as the CLI) only a missing stream is created with them,
    so a client never undoes the limits the platform was configured with."""
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
