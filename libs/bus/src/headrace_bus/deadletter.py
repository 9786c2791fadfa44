"""Dead letters: a message that can never succeed, kept with its reason.

The dead letter is the original data and headers, republished on
``headrace.dlq.<consumer>`` in the dead-letter stream with ``headrace-dlq-*`` headers
added, so it can be inspected and replayed byte for byte.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nats.aio.msg import Msg

from headrace_contracts.wire import DLQ_CONSUMER as CONSUMER
from headrace_contracts.wire import DLQ_DELIVERIES as DELIVERIES
from headrace_contracts.wire import DLQ_ERROR as ERROR
from headrace_contracts.wire import DLQ_REASON as REASON
from headrace_contracts.wire import DLQ_STREAM_SEQ as STREAM_SEQ
from headrace_contracts.wire import DLQ_SUBJECT as SUBJECT

from .policy import Ack, DeadLetter, Nak

if TYPE_CHECKING:
    from .bus import Bus

log = logging.getLogger("headrace.bus")
TYPE_HEADER = "ce-type"

MAX_ERROR = 4000


def dead_letter_subject(prefix: str, consumer: str) -> str:
    return f"{prefix}.{consumer}"


def dead_letter_headers(
    original: Mapping[str, str],
    *,
    reason: str,
    error: str,
    consumer: str,
    subject: str,
    deliveries: int,
    stream_seq: int,
) -> dict[str, str]:
    headers = {k: v for k, v in original.items() if not k.lower().startswith("nats-")}
    headers.update(
        {
            REASON: reason,
            ERROR: " ".join(error.split())[:MAX_ERROR],
            CONSUMER: consumer,
            SUBJECT: subject,
            DELIVERIES: str(deliveries),
            STREAM_SEQ: str(stream_seq),
            # One dead letter per original message and consumer, even if the term is lost.
            "Nats-Msg-Id": f"dlq:{consumer}:{stream_seq}",
        }
    )
    return headers


async def settle(
    bus: Bus,
    durable: str,
    raw: Msg,
    headers: dict[str, str],
    delivered: int,
    action: Ack | Nak | DeadLetter,
    *,
    retry_after: float,
) -> None:
    """Carry out ``action`` on a message ``durable`` consumed: ack, nak with its delay, or
    republish it to the dead-letter stream and terminate it. A dead letter that cannot be
    published is never lost: the message is nak-ed for ``retry_after`` seconds instead."""
    if isinstance(action, Ack):
        await raw.ack()
        return
    if isinstance(action, Nak):
        await raw.nak(delay=action.delay)
        return
    try:
        await bus.publish_raw(
            dead_letter_subject(bus.config.dlq_prefix, durable),
            raw.data,
            dead_letter_headers(
                headers,
                reason=action.reason,
                error=action.error,
                consumer=durable,
                subject=raw.subject,
                deliveries=delivered,
                stream_seq=raw.metadata.sequence.stream,
            ),
            stream=bus.config.dlq_stream,
        )
    except Exception:
        log.exception("could not dead-letter the message on %s; will retry", raw.subject)
        await raw.nak(delay=retry_after)
        return
    await raw.term()
    if bus.on_dead_letter is not None:
        bus.on_dead_letter(headers.get(TYPE_HEADER, ""), action.reason)
