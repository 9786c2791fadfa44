"""CloudEvents from other systems: any ``type``, JSON data, on a subject under ``headrace.ext.``.

Unlike the platform's own messages these are not in the catalogue: their ``ce-type`` is the
publisher's (``com.example.order.created``) and their data has no model. They are read as an
:class:`ExternalEvent` (context attributes, extensions, parsed JSON data) and handed to event
triggers. The wire rules are the platform's (binary mode, ``ce-*`` headers): see
``docs/triggers.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .cloudevents import CONTENT_TYPE, REQUIRED, SPECVERSION, _parse_time, format_time
from .errors import InvalidCloudEvent

_CONTEXT = {*REQUIRED, "ce-time", "ce-subject", "ce-dataschema"}
"""Headers that are CloudEvents context attributes; other ``ce-*`` headers are extensions."""


@dataclass(frozen=True)
class ExternalEvent:
    id: str
    source: str
    type: str
    subject: str = ""
    """The CloudEvents ``subject`` attribute (``ce-subject``), not the NATS subject."""
    time: datetime | None = None
    extensions: dict[str, str] = field(default_factory=dict)
    data: Any = None
    nats_subject: str = ""

    def attributes(self) -> dict[str, Any]:
        """What CEL sees as ``attributes``."""
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": format_time(self.time) if self.time else "",
            "specversion": SPECVERSION,
            "extensions": dict(self.extensions),
        }


def decode_external(
    headers: Mapping[str, str] | None, data: bytes, *, subject: str = ""
) -> ExternalEvent:
    """Read a binary-mode CloudEvent of any type; :class:`InvalidCloudEvent` names what is
    wrong (a missing header, another specversion or content type, data that is not JSON)."""
    headers = dict(headers or {})
    where = subject or "?"
    missing = [name for name in REQUIRED if not headers.get(name)]
    if missing:
        raise InvalidCloudEvent(
            f"message on {where} is not a CloudEvent 1.0 in binary mode: missing header(s) "
            f"{', '.join(missing)}; publish with ce-specversion, ce-id, ce-source and ce-type "
            "headers and JSON data (docs/triggers.md)"
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
    try:
        value = json.loads(data) if data else None
    except ValueError as exc:
        raise InvalidCloudEvent(
            f"the data of CloudEvent {headers['ce-id']!r} on {where} is not JSON ({exc}): "
            "send a JSON document"
        ) from None
    extensions = {
        name[3:]: text
        for name, text in headers.items()
        if name.startswith("ce-") and name not in _CONTEXT
    }
    return ExternalEvent(
        id=headers["ce-id"],
        source=headers["ce-source"],
        type=headers["ce-type"],
        subject=headers.get("ce-subject", ""),
        time=_parse_time(headers.get("ce-time")),
        extensions=extensions,
        data=value,
        nats_subject=subject,
    )
