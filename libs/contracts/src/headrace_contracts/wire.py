"""Header names of the wire format beyond CloudEvents: dead letters and query errors.

Declared here, beside the contracts, so the bus that writes them and the AsyncAPI document
that publishes them cannot disagree.
"""

from __future__ import annotations

DLQ_REASON = "headrace-dlq-reason"
DLQ_ERROR = "headrace-dlq-error"
DLQ_CONSUMER = "headrace-dlq-consumer"
DLQ_SUBJECT = "headrace-dlq-subject"
DLQ_DELIVERIES = "headrace-dlq-deliveries"
DLQ_STREAM_SEQ = "headrace-dlq-stream-seq"
DLQ_HEADERS = (DLQ_REASON, DLQ_ERROR, DLQ_CONSUMER, DLQ_SUBJECT, DLQ_DELIVERIES, DLQ_STREAM_SEQ)
DLQ_REASONS = ("exhausted", "invalid", "rejected")

REPLY_ERROR_HEADER = "headrace-error"
"""Set on a query reply, with an empty body, when the responder failed."""
