"""Dead letters: a message that can never succeed, kept with its reason.

The dead letter is the original data and headers, republished on
``headrace.dlq.<consumer>`` in the dead-letter stream with ``headrace-dlq-*`` headers
added, so it can be inspected and replayed byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping

from headrace_contracts.wire import DLQ_CONSUMER as CONSUMER
from headrace_contracts.wire import DLQ_DELIVERIES as DELIVERIES
from headrace_contracts.wire import DLQ_ERROR as ERROR
from headrace_contracts.wire import DLQ_REASON as REASON
from headrace_contracts.wire import DLQ_STREAM_SEQ as STREAM_SEQ
from headrace_contracts.wire import DLQ_SUBJECT as SUBJECT

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
