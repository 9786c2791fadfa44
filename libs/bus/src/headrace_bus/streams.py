"""The JetStream streams and durable consumers, declared idempotently at start."""

from __future__ import annotations

from collections.abc import Sequence

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from headrace_contracts import Catalogue

from .config import BusConfig


def domain_subjects(catalogue: Catalogue) -> list[str]:
    return [f"headrace.{area}.>" for area in catalogue.areas()]


async def ensure_streams(js: JetStreamContext, config: BusConfig, catalogue: Catalogue) -> None:
    """Create the domain and dead-letter streams, or widen their subjects; safe to race."""
    await _ensure_stream(
        js,
        StreamConfig(
            name=config.stream,
            subjects=domain_subjects(catalogue),
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            num_replicas=config.stream_replicas,
            duplicate_window=config.duplicate_window,
        ),
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=config.dlq_stream,
            subjects=[f"{config.dlq_prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            num_replicas=config.stream_replicas,
            duplicate_window=config.duplicate_window,
        ),
    )
    # Other systems' CloudEvents (any type), for event triggers: declared with the others so
    # a publisher's events are stored as soon as the platform is up, before any trigger.
    await _ensure_stream(
        js,
        StreamConfig(
            name=config.external_stream,
            subjects=[f"{config.external_prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            num_replicas=config.stream_replicas,
            duplicate_window=config.duplicate_window,
        ),
    )


async def _ensure_stream(js: JetStreamContext, wanted: StreamConfig) -> None:
    assert wanted.name is not None
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        try:
            await js.add_stream(wanted)
            return
        except BadRequestError:  # another replica created it a moment ago
            info = await js.stream_info(wanted.name)
    current = set(info.config.subjects or ())
    missing = set(wanted.subjects or ()) - current
    if missing:
        info.config.subjects = sorted(current | missing)
        await js.update_stream(info.config)


async def ensure_consumer(
    js: JetStreamContext,
    config: BusConfig,
    durable: str,
    subjects: Sequence[str],
    *,
    stream: str | None = None,
) -> None:
    """Create or update the service's durable pull consumer over ``subjects``.

    Server-side ``max_deliver`` is one more than the policy's so the dispatcher always sees
    the last delivery and dead-letters it itself, rather than the server dropping it.
    """
    await js.add_consumer(
        stream or config.stream,
        ConsumerConfig(
            name=durable,
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=config.ack_wait,
            max_deliver=config.retry.max_deliver + 1,
            max_ack_pending=config.max_ack_pending,
            filter_subjects=sorted(subjects),
        ),
    )
