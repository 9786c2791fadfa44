"""Span names, kinds and attributes after the OpenTelemetry messaging conventions."""

from __future__ import annotations

from opentelemetry.util.types import AttributeValue

SYSTEM = "nats"


def publish_span_name(subject: str) -> str:
    return f"publish {subject}"


def process_span_name(subject: str) -> str:
    return f"process {subject}"


def publish_attributes(
    subject: str, *, message_id: str, ce_type: str, body_size: int, client_id: str = ""
) -> dict[str, AttributeValue]:
    attrs: dict[str, AttributeValue] = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        "messaging.destination.name": subject,
        "messaging.message.id": message_id,
        "messaging.message.body.size": body_size,
        "cloudevents.event_id": message_id,
        "cloudevents.event_type": ce_type,
    }
    if client_id:
        attrs["messaging.client.id"] = client_id
    return attrs


def process_attributes(
    subject: str,
    *,
    message_id: str,
    ce_type: str,
    body_size: int,
    consumer_group: str,
    delivery_count: int = 1,
    client_id: str = "",
) -> dict[str, AttributeValue]:
    attrs: dict[str, AttributeValue] = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": subject,
        "messaging.consumer.group.name": consumer_group,
        "messaging.message.id": message_id,
        "messaging.message.body.size": body_size,
        "messaging.nats.delivery_count": delivery_count,
        "cloudevents.event_id": message_id,
        "cloudevents.event_type": ce_type,
    }
    if client_id:
        attrs["messaging.client.id"] = client_id
    return attrs
