"""The JetStream streams and durable consumers, declared idempotently at start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from nats.js.errors import APIError, NotFoundError

from headrace_contracts import Catalogue

from .config import BusConfig, StreamLimits
from .errors import StreamConfigError


def domain_subjects(catalogue: Catalogue) -> list[str]:
    return [f"headrace.{area}.>" for area in catalogue.areas()]


def stream_configs(config: BusConfig, catalogue: Catalogue) -> list[StreamConfig]:
    """The domain, dead-letter and external-events streams as ``config`` wants them."""
    base: dict[str, Any] = {
        "storage": StorageType.FILE,
        "retention": RetentionPolicy.LIMITS,
        "discard": DiscardPolicy.OLD,
        "num_replicas": config.stream_replicas,
    }
    return [
        StreamConfig(
            name=config.stream,
            subjects=domain_subjects(catalogue),
            **base,
            **_limits(config.stream_limits, config.duplicate_window),
        ),
        StreamConfig(
            name=config.dlq_stream,
            subjects=[f"{config.dlq_prefix}.>"],
            **base,
            **_limits(config.dlq_limits, config.duplicate_window),
        ),
        # Other systems' CloudEvents (any type), for event triggers: declared with the others
        # so a publisher's events are stored as soon as the platform is up, before any trigger.
        StreamConfig(
            name=config.external_stream,
            subjects=[f"{config.external_prefix}.>"],
            **base,
            **_limits(config.external_limits, config.duplicate_window),
        ),
    ]


def _limits(limits: StreamLimits, duplicate_window: float) -> dict[str, Any]:
    """The stream fields of ``limits`` as the server reports them (-1: no byte limit). The
    de-duplication window cannot outlast the messages (the server refuses a longer one)."""
    window = min(duplicate_window, limits.max_age) if limits.max_age else duplicate_window
    return {
        "max_age": float(limits.max_age),
        "max_bytes": limits.max_bytes or -1,
        "duplicate_window": float(window),
    }


_LIMIT_FIELDS = ("max_age", "max_bytes", "duplicate_window")


async def ensure_streams(js: JetStreamContext, config: BusConfig, catalogue: Catalogue) -> None:
    """Create the domain, dead-letter and external-events streams, or widen their subjects
    and, with ``config.apply_limits``, set their limits to the configured ones; safe to race."""
    for wanted in stream_configs(config, catalogue):
        await _ensure_stream(js, wanted, apply_limits=config.apply_limits)


async def _ensure_stream(js: JetStreamContext, wanted: StreamConfig, *, apply_limits: bool) -> None:
    assert wanted.name is not None
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        try:
            await js.add_stream(wanted)
            return
        except APIError as exc:
            try:  # another replica created it a moment ago
                info = await js.stream_info(wanted.name)
            except NotFoundError:
                raise _refused(wanted, exc) from exc
    current = info.config
    changed = False
    present = set(current.subjects or ())
    missing = set(wanted.subjects or ()) - present
    if missing:
        current.subjects = sorted(present | missing)
        changed = True
    if apply_limits:
        for name in _LIMIT_FIELDS:
            value = getattr(wanted, name)
            if not _same(getattr(current, name), value):
                setattr(current, name, value)
                changed = True
    if changed:
        try:
            await js.update_stream(current)
        except APIError as exc:
            raise _refused(wanted, exc) from exc


def _same(found: Any, wanted: float) -> bool:
    """Whether a limit the server reports equals the wanted one (it keeps nanoseconds)."""
    if found is None:
        return wanted in (0, -1)
    return abs(float(found) - float(wanted)) < 1e-6


def _refused(wanted: StreamConfig, cause: Exception) -> StreamConfigError:
    description = getattr(cause, "description", None) or str(cause)
    age = f"{wanted.max_age:g}s" if wanted.max_age else "none"
    size = f"{wanted.max_bytes} bytes" if (wanted.max_bytes or -1) > 0 else "none"
    return StreamConfigError(
        f"the NATS server refused stream {wanted.name} (max age {age}, max bytes {size}): "
        f"{description}; lower its limits (HEADRACE_*_MAX_AGE_SECONDS, HEADRACE_*_MAX_BYTES, "
        "see docs/streams.md) or give the server's JetStream more storage"
    )


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
