"""The AsyncAPI 3.0 document of the catalogue: what an external system may publish and read.

Generated from the message models, never written by hand: ``make asyncapi`` (that is,
``python -m headrace_contracts.asyncapi > docs/asyncapi.json``) regenerates it and a unit test
fails when the committed copy drifts. The output is byte-stable: every mapping is emitted with
sorted keys and every list built here is sorted.

Layout: one channel per subject (several versions of a message share their subject's channel),
one message per model, one operation per model seen from the platform (it *sends* events,
*receives* commands, *receives* queries and replies to them), the model schemas once under
``components.schemas`` and the dead-letter channel ``headrace.dlq.{consumer}``.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections import defaultdict
from importlib import metadata
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .base import Command, Event, Message, Query, Telemetry
from .catalogue import Catalogue
from .cloudevents import CONTENT_TYPE, MSG_ID_HEADER, REQUIRED, SPECVERSION
from .triggers import EXTERNAL_STREAM
from .wire import (
    DLQ_CONSUMER,
    DLQ_DELIVERIES,
    DLQ_ERROR,
    DLQ_HEADERS,
    DLQ_REASON,
    DLQ_REASONS,
    DLQ_STREAM_SEQ,
    DLQ_SUBJECT,
    REPLY_ERROR_HEADER,
)

JsonObject = dict[str, Any]

ASYNCAPI_VERSION = "3.0.0"
SERVER_ID = "nats"
SERVER_HOST = "localhost:4222"
DOMAIN_STREAM = "HEADRACE"
DLQ_STREAM = "HEADRACE_DLQ"
DLQ_CHANNEL_ID = "headrace.dlq"
DLQ_ADDRESS = "headrace.dlq.{consumer}"
DLQ_MESSAGE = "DeadLetter"
EXT_CHANNEL_ID = "headrace.ext"
EXT_ADDRESS = "headrace.ext.{type}"
EXT_MESSAGE = "ExternalEvent"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

_DESCRIPTION = """\
Every message of the Headrace platform, generated from its contract models.

**Wire format.** Each message is a CloudEvents 1.0 event in *binary mode* on NATS: the \
context attributes travel as NATS headers (`ce-specversion: 1.0`, `ce-id`, `ce-source`, \
`ce-type`, optional `ce-time` as RFC 3339 and `ce-subject`), the data is the message's JSON \
(`content-type: application/json`), and `Nats-Msg-Id` repeats `ce-id` so JetStream drops a \
retried publish. A W3C `traceparent` (and `tracestate`) header may carry the trace context.

**Subjects and types.** A message of area `<area>` and name `<name>` travels on subject \
`headrace.<area>.<name>` with CloudEvents type `io.headrace.<area>.<name>.v<version>`. Events \
and commands are durable: they are stored in the JetStream stream `HEADRACE`. Queries travel \
on `headrace.query.<area>.<name>` over core NATS request/reply and are never stored.

**Publishing from outside.** Any system that can publish a CloudEvent to NATS drives \
Headrace, for example with the `nats` CLI:

```
nats pub --jetstream headrace.run.cancel '{"run_id": "r-42"}' \\
  -H ce-specversion:1.0 -H ce-id:7f9c0d1e-cancel-r-42 -H ce-source:/my-system \\
  -H ce-type:io.headrace.run.cancel.v1 -H ce-time:2026-01-31T12:00:00Z \\
  -H content-type:application/json -H Nats-Msg-Id:7f9c0d1e-cancel-r-42
```

Unknown fields in the data are ignored, so a contract grows by adding fields with defaults; \
a breaking change is a new type with version 2 beside the old one.

**Dead letters.** A message a consumer can never handle is not dropped: it is republished \
unchanged on `headrace.dlq.<consumer>` (stream `HEADRACE_DLQ`) with `headrace-dlq-*` headers \
that say why.
"""


def build_asyncapi(catalogue: Catalogue | None = None) -> JsonObject:
    """The AsyncAPI 3.0.0 document of ``catalogue`` (the platform's by default)."""
    if catalogue is None:
        from . import CATALOGUE

        catalogue = CATALOGUE
    messages = sorted(catalogue, key=lambda m: (m.subject(), m.VERSION, m.__name__))
    replies = sorted({q.REPLY for q in catalogue.queries()}, key=lambda r: r.__name__)
    keys, schemas = _schemas([*messages, *replies])
    for reserved in (DLQ_MESSAGE, EXT_MESSAGE):
        if reserved in keys.values():
            raise ValueError(f"a model may not be named {reserved!r}: it is reserved")

    channels: JsonObject = {}
    operations: JsonObject = {}
    components: JsonObject = {"messages": {}, "schemas": schemas}
    by_subject: dict[str, list[type[Message]]] = defaultdict(list)
    for model in messages:
        by_subject[model.subject()].append(model)

    for subject, models in by_subject.items():
        channels[subject] = _channel(subject, models, keys)
        for model in models:
            key = keys[model]
            components["messages"][key] = _message(model, key)
            action = "send" if issubclass(model, Event | Telemetry) else "receive"
            operation: JsonObject = {
                "action": action,
                "channel": _ref("channels", subject),
                "messages": [_ref("channels", subject, "messages", key)],
                "summary": _operation_summary(model),
            }
            if issubclass(model, Query):
                reply_channel = f"{subject}.reply"
                reply_key = keys[model.REPLY]
                channels[reply_channel] = _reply_channel(model, reply_key)
                operation["reply"] = {
                    "channel": _ref("channels", reply_channel),
                    "messages": [_ref("channels", reply_channel, "messages", reply_key)],
                }
            operations[f"{action}{key}"] = operation

    for reply in replies:
        key = keys[reply]
        components["messages"][key] = _reply_message(reply, key)

    channels[DLQ_CHANNEL_ID] = _dlq_channel()
    components["messages"][DLQ_MESSAGE] = _dlq_message()
    operations[f"send{DLQ_MESSAGE}"] = {
        "action": "send",
        "channel": _ref("channels", DLQ_CHANNEL_ID),
        "messages": [_ref("channels", DLQ_CHANNEL_ID, "messages", DLQ_MESSAGE)],
        "summary": "A consumer dead-letters a message it can never handle.",
    }
    channels[EXT_CHANNEL_ID] = _external_channel()
    components["messages"][EXT_MESSAGE] = _external_message()
    operations[f"receive{EXT_MESSAGE}"] = {
        "action": "receive",
        "channel": _ref("channels", EXT_CHANNEL_ID),
        "messages": [_ref("channels", EXT_CHANNEL_ID, "messages", EXT_MESSAGE)],
        "summary": "The scheduler's event triggers start a pipeline run for each external "
        "CloudEvent a trigger takes (`headrace trigger create`).",
    }
    components["correlationIds"] = {
        "traceparent": {
            "description": "W3C trace context: every message of one pipeline run carries the "
            "same trace id, across every service and workload.",
            "location": "$message.header#/traceparent",
        }
    }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Headrace",
            "version": _version(),
            "description": _DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            SERVER_ID: {
                "host": SERVER_HOST,
                "protocol": "nats",
                "description": "The platform's NATS server with JetStream (embedded default "
                "of `headrace up`; point clients at your cluster in production).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": components,
    }


def render_asyncapi(catalogue: Catalogue | None = None) -> str:
    """The document as stable JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(build_asyncapi(catalogue), indent=2, sort_keys=True) + "\n"


def _schemas(models: list[type[BaseModel]]) -> tuple[dict[type[BaseModel], str], JsonObject]:
    """Every model's JSON schema once under one namespace; nested value objects included."""
    mode: JsonSchemaMode = "validation"
    refs, top = models_json_schema(
        [(m, mode) for m in models], ref_template="#/components/schemas/{model}"
    )
    keys = {m: str(refs[(m, mode)]["$ref"]).rsplit("/", 1)[1] for m in models}
    return keys, dict(top.get("$defs", {}))


def _ref(*parts: str) -> JsonObject:
    """A local ``$ref`` to ``#/parts...``, each part escaped as a JSON pointer token."""
    escaped = (p.replace("~", "~0").replace("/", "~1") for p in parts)
    return {"$ref": "#/" + "/".join(escaped)}


def _channel(
    subject: str, models: list[type[Message]], keys: dict[type[BaseModel], str]
) -> JsonObject:
    first = models[0]
    types = ", ".join(f"`{m.ce_type()}`" for m in models)
    if issubclass(first, Query):
        description = (
            f"Request/reply over core NATS (never stored): send a request of type {types} "
            "with a reply inbox (`nats request`, `nc.request`); the answer comes back on it."
        )
    elif issubclass(first, Telemetry):
        description = (
            f"Telemetry of type {types}, published over core NATS and never stored: a "
            "subscriber (`nats sub`) sees what is published while it listens."
        )
    else:
        description = (
            f"{first.KIND.capitalize()}s of type {types}, stored in the JetStream stream "
            f"`{DOMAIN_STREAM}`."
        )
    channel: JsonObject = {
        "address": subject,
        "description": description,
        "messages": {keys[m]: _ref("components", "messages", keys[m]) for m in models},
        "servers": [_ref("servers", SERVER_ID)],
    }
    if issubclass(first, Event | Command):
        channel["x-headrace-stream"] = DOMAIN_STREAM
    return channel


def _reply_channel(query: type[Query], reply_key: str) -> JsonObject:
    return {
        "address": None,
        "description": f"The requester's inbox for answers to `{query.subject()}`: NATS picks "
        "the reply subject per request, so the address is not fixed.",
        "messages": {reply_key: _ref("components", "messages", reply_key)},
        "servers": [_ref("servers", SERVER_ID)],
    }


def _message(model: type[Message], key: str) -> JsonObject:
    summary, description = _doc(model)
    return {
        "name": model.__name__,
        "title": _title(model.__name__),
        "summary": summary,
        "description": description,
        "contentType": CONTENT_TYPE,
        "headers": _cloudevent_headers(model.ce_type()),
        "payload": _ref("components", "schemas", key),
        "correlationId": _ref("components", "correlationIds", "traceparent"),
        "x-headrace-kind": model.KIND,
    }


def _reply_message(model: type[BaseModel], key: str) -> JsonObject:
    summary, description = _doc(model)
    return {
        "name": model.__name__,
        "title": _title(model.__name__),
        "summary": summary,
        "description": description,
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                REPLY_ERROR_HEADER: {
                    "type": "string",
                    "description": "Present, with an empty payload, when the responder failed: "
                    "the error text.",
                }
            },
            "additionalProperties": {"type": "string"},
        },
        "payload": _ref("components", "schemas", key),
        "x-headrace-kind": "reply",
    }


def _cloudevent_headers(ce_type: str) -> JsonObject:
    return {
        "type": "object",
        "required": sorted(REQUIRED),
        "properties": {
            "ce-specversion": {
                "type": "string",
                "const": SPECVERSION,
                "description": "CloudEvents specification version.",
            },
            "ce-id": {
                "type": "string",
                "minLength": 1,
                "description": "Unique id of this event; a retried publish repeats it.",
            },
            "ce-source": {
                "type": "string",
                "minLength": 1,
                "format": "uri-reference",
                "description": "Who published it, e.g. `/headrace/scheduler` or `/my-system`.",
            },
            "ce-type": {
                "type": "string",
                "const": ce_type,
                "description": "The versioned message type; selects the payload schema.",
            },
            "ce-time": {
                "type": "string",
                "format": "date-time",
                "description": "When it happened, RFC 3339 with offset, e.g. "
                "`2026-01-31T12:00:00Z`.",
            },
            "ce-subject": {
                "type": "string",
                "description": "Optional: the entity the event is about (CloudEvents subject).",
            },
            "content-type": {
                "type": "string",
                "pattern": r"^application/json\s*(;.*)?$",
                "default": CONTENT_TYPE,
                "description": "The data is JSON; assumed when omitted.",
            },
            MSG_ID_HEADER: {
                "type": "string",
                "description": "Set it to `ce-id`: JetStream drops a second publish with the "
                "same id inside its duplicate window.",
            },
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN,
                "description": "Optional W3C trace context; the platform continues the trace.",
            },
            "tracestate": {
                "type": "string",
                "description": "Optional W3C trace state, sent with `traceparent`.",
            },
        },
        "additionalProperties": {"type": "string"},
    }


def _external_channel() -> JsonObject:
    return {
        "address": EXT_ADDRESS,
        "description": "CloudEvents of any type from other systems, stored in the JetStream "
        f"stream `{EXTERNAL_STREAM}` (subjects `headrace.ext.>`). Publish on "
        "`headrace.ext.<your type>` (any subject under `headrace.ext.` is stored); event "
        "triggers start a run for each event they take, and an event no trigger takes is "
        "acknowledged and counted, never dead-lettered. See docs/triggers.md.",
        "messages": {EXT_MESSAGE: _ref("components", "messages", EXT_MESSAGE)},
        "parameters": {
            "type": {
                "description": "Any subject tokens; by convention the event's `ce-type`.",
            }
        },
        "servers": [_ref("servers", SERVER_ID)],
        "x-headrace-stream": EXTERNAL_STREAM,
    }


def _external_message() -> JsonObject:
    headers = _cloudevent_headers("")
    ce_type = dict(headers["properties"]["ce-type"])
    ce_type.pop("const")
    ce_type["minLength"] = 1
    ce_type["description"] = (
        "Your event's type, e.g. `com.example.order.created`: what a trigger's `--on` names."
    )
    headers["properties"] = {**headers["properties"], "ce-type": ce_type}
    return {
        "name": EXT_MESSAGE,
        "title": "External event",
        "summary": "A CloudEvent from another system, of any type, with JSON data.",
        "description": "A trigger's `--filter` and `{{ expression }}` parameters read it in CEL "
        "as `attributes` (`id`, `source`, `type`, `subject`, `time`, `specversion`, and "
        "`extensions`: the other `ce-*` headers) and `data` (the parsed JSON).",
        "contentType": CONTENT_TYPE,
        "headers": headers,
        "payload": {"description": "Any JSON document: the event's data."},
        "x-headrace-kind": "external",
    }


def _dlq_channel() -> JsonObject:
    return {
        "address": DLQ_ADDRESS,
        "description": "Dead letters of one durable consumer, stored in the JetStream stream "
        f"`{DLQ_STREAM}`. Never redelivered: inspect, fix and republish.",
        "messages": {DLQ_MESSAGE: _ref("components", "messages", DLQ_MESSAGE)},
        "parameters": {
            "consumer": {
                "description": "The durable consumer (service) that gave the message up.",
            }
        },
        "servers": [_ref("servers", SERVER_ID)],
        "x-headrace-stream": DLQ_STREAM,
    }


def _dlq_message() -> JsonObject:
    digits = {"type": "string", "pattern": "^[0-9]+$"}
    return {
        "name": DLQ_MESSAGE,
        "title": "Dead letter",
        "summary": "A message a consumer could never handle, kept with the reason.",
        "description": "The original data bytes, unchanged, and the original headers (the "
        "`ce-*` attributes and `traceparent` included), plus the `headrace-dlq-*` headers. "
        "The data is whatever was received, so it may not even be JSON when the reason is "
        "`invalid`.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": sorted(DLQ_HEADERS),
            "properties": {
                DLQ_REASON: {
                    "type": "string",
                    "enum": list(DLQ_REASONS),
                    "description": "`invalid`: not a CloudEvent, an unknown type, data that "
                    "fails its contract, or a type the consumer does not handle; `rejected`: "
                    "the handler refused it as never able to succeed; `exhausted`: every "
                    "retry failed.",
                },
                DLQ_ERROR: {
                    "type": "string",
                    "description": "The error text, on one line.",
                },
                DLQ_CONSUMER: {
                    "type": "string",
                    "description": "The durable consumer that gave up.",
                },
                DLQ_SUBJECT: {
                    "type": "string",
                    "description": "The subject the message was originally published on.",
                },
                DLQ_DELIVERIES: {
                    **digits,
                    "description": "How many times it was delivered to the consumer.",
                },
                DLQ_STREAM_SEQ: {
                    **digits,
                    "description": f"Its sequence number in the stream `{DOMAIN_STREAM}`.",
                },
            },
            "additionalProperties": {"type": "string"},
        },
        "payload": {"description": "The original message data, byte for byte."},
        "x-headrace-kind": "dead-letter",
    }


def _doc(model: type[BaseModel]) -> tuple[str, str]:
    """``(summary, description)`` from the class's own docstring (not an inherited one)."""
    raw = model.__dict__.get("__doc__")
    if not raw:
        kind = getattr(model, "KIND", "reply")
        text = f"{_title(model.__name__)} ({kind})."
        return text, text
    doc = inspect.cleandoc(raw)
    return doc.split("\n\n", 1)[0].replace("\n", " "), doc


def _title(name: str) -> str:
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+", name)
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else name


def _operation_summary(model: type[Message]) -> str:
    if issubclass(model, Query):
        return f"The platform answers {model.__name__} requests."
    if issubclass(model, Command):
        return f"The platform acts on {model.__name__}."
    return f"The platform publishes {model.__name__}."


def _version() -> str:
    try:
        return metadata.version("headrace-contracts")
    except metadata.PackageNotFoundError:
        return "0.0.0"


if __name__ == "__main__":
    sys.stdout.write(render_asyncapi())
