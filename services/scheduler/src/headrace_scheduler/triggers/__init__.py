"""Event triggers: a CloudEvent published by another system on ``headrace.ext.>`` starts a
pipeline run (Argo Events sensors for Kubeflow). See ``docs/triggers.md``.

:func:`install` adds the trigger commands, queries and the external-event consumer to the
scheduler service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headrace_contracts import (
    CreateTrigger,
    DeleteTrigger,
    GetTrigger,
    ListTriggers,
    TriggerDetail,
    TriggerList,
)
from headrace_contracts.triggers import DEFAULT_TRIGGER_SUBJECT
from headrace_runtime import Service

from .handlers import Triggers
from .store import TRIGGER_TABLES

__all__ = ["TRIGGER_TABLES", "Triggers", "install"]


def install(service: Service, engine: Callable[[], Any]) -> Triggers:
    triggers = Triggers(engine)
    service.handles(CreateTrigger, on_give_up=triggers.given_up)(triggers.create)
    service.handles(DeleteTrigger, on_give_up=triggers.given_up)(triggers.delete)
    service.handles_external([DEFAULT_TRIGGER_SUBJECT])(triggers.on_event)

    @service.answers(GetTrigger)
    async def get_trigger(query: GetTrigger) -> TriggerDetail:
        return triggers.get(query)

    @service.answers(ListTriggers)
    async def list_triggers(query: ListTriggers) -> TriggerList:
        return triggers.list(query)

    return triggers
