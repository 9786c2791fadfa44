"""The Headrace event bus: CloudEvents over NATS JetStream, one durable consumer per
service, bounded retries, dead letters, traced publish and consume, request/reply."""

from . import deadletter
from .answers import first_answer
from .bus import Bus
from .config import DEFAULT_URL, DLQ_LIMITS, DOMAIN_LIMITS, EXTERNAL_LIMITS, BusConfig, StreamLimits
from .dispatcher import Batch, BatchFactory, Dispatcher, GiveUp, Handler, Runner, run_here
from .errors import (
    BusError,
    NoResponders,
    PermanentError,
    RequestFailed,
    RequestTimeout,
    RetryableError,
    StreamConfigError,
    is_retryable,
)
from .policy import Ack, DeadLetter, Nak, RetryPolicy, decide
from .streams import domain_subjects, ensure_consumer, ensure_streams, stream_configs

__all__ = [
    "DEFAULT_URL",
    "DLQ_LIMITS",
    "DOMAIN_LIMITS",
    "EXTERNAL_LIMITS",
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
    "Runner",
    "StreamConfigError",
    "StreamLimits",
    "deadletter",
    "decide",
    "domain_subjects",
    "ensure_consumer",
    "ensure_streams",
    "first_answer",
    "is_retryable",
    "run_here",
    "stream_configs",
]
