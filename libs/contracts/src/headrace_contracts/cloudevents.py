"""CloudEvents 1.0 in binary mode over NATS.

The context attributes travel as ``ce-*`` message headers, the message model's JSON as the
data; ``content-type`` is ``application/json``. ``Nats-Msg-Id`` carries the event id, so a
retried publish is dropped by JetStream's de-duplication window.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import ValidationError

from .base import Message
from .catalogue import Catalogue
from .errors import InvalidCloudEvent, InvalidMessageData

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
MSG_ID_HEADER = "Nats-Msg-Id"
REQUIRED = ("ce-specversion", "ce-id", "ce-source", "ce-type")

M = TypeVar("M", bound=Message)


def new_event_id() -> str:
    """A random (version 4) UUID as text, made without ``uuid.UUID`` (whose checks cost
    several times the random bytes, on every publish)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_VARIANT = "89ab"  # RFC 4122: the two top bits of the clock-sequence octet are 10


def derive_event_id(cause_id: str, *parts: str) -> str:
    """A deterministic id for an event caused by another one.

    A handler that is redelivered and publishes again derives the same id, so JetStream
    de-duplicates the second publish.
    """
    # JSON, not "/".join: parts such as step ids contain "/" and must not run together.
    key = json.dumps([cause_id, *parts], separators=(",", ":"))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Envelope(Generic[M]):
    """A decoded message with its CloudEvents context attributes."""

    message: M
    id: str
    source: str
    type: str
    time: datetime | None
    subject: str
    headers: Mapping[str, str] = field(default_factory=dict)


def encode(
    message: Message,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
    ce_subject: str | None = None,
) -> tuple[str, bytes, dict[str, str]]:
    """Return ``(nats_subject, data, headers)`` for one message."""
    event_id = event_id or new_event_id()
    headers = {
        "ce-specversion": SPECVERSION,
        "ce-id": event_id,
        "ce-source": source,
        "ce-type": message.ce_type(),
        "ce-time": format_time(time or datetime.now(UTC)),
        "content-type": CONTENT_TYPE,
        MSG_ID_HEADER: event_id,
    }
    if ce_subject:
        headers["ce-subject"] = ce_subject
    return message.subject(), message.model_dump_json().encode(), headers


def decode(
    headers: Mapping[str, str] | None,
    data: bytes,
    catalogue: Catalogue,
    *,
    subject: str = "",
) -> Envelope[Message]:
    """Decode a binary-mode CloudEvent into its catalogued model.

    Raises :class:`InvalidCloudEvent`, ``UnknownMessageType`` or :class:`InvalidMessageData`
    with a message that names what is wrong and how to fix it.
    """
    headers = dict(headers or {})
    missing = [name for name in REQUIRED if not headers.get(name)]
    if missing:
        raise InvalidCloudEvent(
            f"message on {subject or '?'} is not a CloudEvent 1.0 in binary mode: missing "
            f"header(s) {', '.join(missing)}; publish with ce-specversion, ce-id, ce-source "
            "and ce-type headers and the JSON payload as data"
        )
    if headers["ce-specversion"] != SPECVERSION:
        raise InvalidCloudEvent(
            f"ce-specversion {headers['ce-specversion']!r} is not supported: use {SPECVERSION!r}"
        )
    content_type = headers.get("content-type", CONTENT_TYPE).split(";")[0].strip()
    if content_type != CONTENT_TYPE:
        raise InvalidCloudEvent(
            f"content-type {content_type!r} is not supported: send JSON data "
            f"with content-type {CONTENT_TYPE!r}"
        )
    model = catalogue.by_type(headers["ce-type"])
    try:
        message = model.model_validate_json(data or b"null")
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'data'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidMessageData(headers["ce-type"], detail) from None
    return Envelope(
        message=message,
        id=headers["ce-id"],
        source=headers["ce-source"],
        type=headers["ce-type"],
        time=_parse_time(headers.get("ce-time")),
        subject=subject or message.subject(),
        headers=headers,
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:  # RFC 3339 requires the offset
        raise InvalidCloudEvent(
            f"ce-time {value!r} is not an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z"
        )
    return parsed
