"""The Headrace event bus: CloudEvents over NATS JetStream, one durable consumer per
service, bounded retries, dead letters, traced publish and consume, request/reply."""

from . import deadletter
from .bus import Bus
from .config import DEFAULT_URL, BusConfig
from .dispatcher import Batch, BatchFactory, Dispatcher, GiveUp, Handler
from .errors import (
    BusError,
    NoResponders,
    PermanentError,
    RequestFailed,
    RequestTimeout,
    RetryableError,
    is_retryable,
)
from .policy import Ack, DeadLetter, Nak, RetryPolicy, decide
from .streams import domain_subjects, ensure_consumer, ensure_streams

__all__ = [
    "DEFAULT_URL",
    "Ack",
    "Batch",
    "BatchFactory",
    "Bus",
    "BusConfig",
    "BusError",
    "DeadLetter",
    "Dispatcher",
    "GiveUp",
    "Handler",
    "Nak",
    "NoResponders",
    "PermanentError",
    "RequestFailed",
    "RequestTimeout",
    "RetryPolicy",
    "RetryableError",
    "deadletter",
    "decide",
    "domain_subjects",
    "ensure_consumer",
    "ensure_streams",
    "is_retryable",
]
