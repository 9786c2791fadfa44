"""Event triggers (area ``trigger``): a CloudEvent from another system starts a pipeline run.

A trigger names a CloudEvents ``type`` (and optionally a NATS subject under ``headrace.ext.``)
to listen for, a CEL ``filter`` over the event, and the pipeline parameters to take from it:
``{{ expression }}`` templates (CEL over ``attributes`` and ``data``) or constants. The
scheduler owns triggers: it answers ``CreateTrigger``/``DeleteTrigger`` with
``TriggerCreated``/``TriggerRejected``/``TriggerDeleted`` (repeating the ``request_id``), and
for every event a trigger takes publishes ``TriggerFired`` with the run it submitted, or
``TriggerEventRejected`` with the reason no run was started. ``GetTrigger``/``ListTriggers``
are queries (request/reply, never stored).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event, Query, Reply
from .common import JsonValue, Value
from .registry import DEFAULT_NAMESPACE

EXTERNAL_PREFIX = "headrace.ext"
"""External systems publish their CloudEvents on subjects under ``headrace.ext.``."""
EXTERNAL_STREAM = "HEADRACE_EXT"
"""The JetStream stream that stores them (subjects ``headrace.ext.>``)."""
DEFAULT_TRIGGER_SUBJECT = f"{EXTERNAL_PREFIX}.>"


class CreateTrigger(Command):
    """Start a run of ``pipeline_spec`` for every CloudEvent of ``event_type`` that passes
    ``filter``; ``parameters`` maps pipeline parameters to ``{{ CEL }}`` templates or constants."""

    AREA = "trigger"
    NAME = "create"

    name: str = Field(description="a DNS label, unique in its namespace")
    namespace: str = DEFAULT_NAMESPACE
    event_type: str = Field(description="the CloudEvents type (ce-type) that fires it")
    nats_subject: str = Field(
        default=DEFAULT_TRIGGER_SUBJECT,
        description="NATS subject (wildcards allowed) under headrace.ext. the event must come on",
    )
    filter: str = Field(default="", description="CEL over attributes and data; empty: every event")
    parameters: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="pipeline parameter -> '{{ CEL expression }}' template, or a constant",
    )
    pipeline_spec: dict[str, Any]
    platform_spec: dict[str, Any] | None = None
    enable_caching: bool = True
    request_id: str = ""


class DeleteTrigger(Command):
    AREA = "trigger"
    NAME = "delete"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class TriggerCreated(Event):
    AREA = "trigger"
    NAME = "created"

    trigger_id: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    event_type: str = ""
    nats_subject: str = DEFAULT_TRIGGER_SUBJECT
    pipeline_name: str = ""
    request_id: str = ""


class TriggerRejected(Event):
    """A CreateTrigger or DeleteTrigger refused; ``reason`` names the field at fault."""

    AREA = "trigger"
    NAME = "rejected"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    reason: str
    request_id: str = ""


class TriggerDeleted(Event):
    AREA = "trigger"
    NAME = "deleted"

    trigger_id: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class TriggerFired(Event):
    """An event passed the trigger's filter and started (submitted) run ``run_id``."""

    AREA = "trigger"
    NAME = "fired"

    trigger_id: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    run_id: str
    event_id: str = Field(description="the ce-id of the external event")
    event_source: str = ""
    event_type: str = ""
    arguments: dict[str, JsonValue] = Field(default_factory=dict)


class TriggerEventRejected(Event):
    """An event the trigger took but could start no run for (a parameter expression that
    fails on it, a value of the wrong type, a filter that cannot be evaluated)."""

    AREA = "trigger"
    NAME = "event_rejected"

    trigger_id: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    event_id: str
    event_source: str = ""
    event_type: str = ""
    reason: str


class TriggerView(Value):
    trigger_id: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    pipeline_name: str = ""
    event_type: str
    subject: str = DEFAULT_TRIGGER_SUBJECT
    filter: str = ""
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    created_at: str = ""
    events_matched: int = Field(default=0, description="events that passed the filter")
    events_filtered: int = Field(default=0, description="events of its type the filter refused")
    runs_started: int = 0
    events_rejected: int = Field(default=0, description="events that could start no run")
    last_error: str = ""
    last_error_event_id: str = ""
    last_run_id: str = ""
    last_event_at: str = ""


class TriggerDetail(Reply):
    trigger: TriggerView | None = Field(default=None, description="None when unknown")


class GetTrigger(Query):
    AREA = "trigger"
    NAME = "get"
    REPLY = TriggerDetail

    name: str
    namespace: str = DEFAULT_NAMESPACE


class TriggerList(Reply):
    triggers: list[TriggerView] = Field(default_factory=list)
    unmatched_events: int = Field(
        default=0,
        description="external events (all namespaces) that no trigger took: acknowledged, "
        "counted, not dead-lettered",
    )


class ListTriggers(Query):
    AREA = "trigger"
    NAME = "list"
    REPLY = TriggerList

    namespace: str = DEFAULT_NAMESPACE
