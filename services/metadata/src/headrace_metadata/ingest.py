"""One handler per message type for the whole service, calling every part of the read model
that records that message (artifacts, lineage, runs, registry, ...), in one transaction.

A service has one durable consumer and one handler per message type; the metadata service
keeps several views of the same events, so each part declares what it records with
:meth:`Ingest.on` and :meth:`Ingest.register` installs one handler per type that calls the
parts in the order they were declared.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from headrace_contracts import Message
from headrace_runtime import HandlerContext, Service

__all__ = ["Ingest", "Part"]

Part = Callable[[Any, HandlerContext[Any]], Awaitable[None]]


class Ingest:
    def __init__(self) -> None:
        self._parts: dict[type[Message], list[Part]] = {}

    def on(self, message: type[Message], part: Part) -> None:
        """Have ``part(message, ctx)`` record every ``message``."""
        self._parts.setdefault(message, []).append(part)

    def register(self, service: Service) -> None:
        """One handler per declared message type on ``service``."""
        for message, parts in self._parts.items():
            service.handles(message)(_combined(list(parts)))


def _combined(parts: list[Part]) -> Part:
    async def handle(message: Any, ctx: HandlerContext[Any]) -> None:
        for part in parts:
            await part(message, ctx)

    return handle
