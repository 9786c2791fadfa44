"""One handler per message type for the whole service, calling every part of the read model
that records that message (artifacts, lineage, runs, registry, ...), in one transaction.

A service has one durable consumer and one handler per message type; the metadata service
keeps several views of the same events, so each part declares what it records with
:meth:`Ingest.on` and :meth:`Ingest.register` installs one handler per type that calls the
parts in the order they were declared. A part may also say what to do when the bus gives
up on one of its messages (:meth:`Ingest.gives_up`): those hooks run, in the order declared,
in the runtime's own give-up transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from headrace_bus import DeadLetter
from headrace_contracts import Message
from headrace_runtime import HandlerContext, Service

__all__ = ["GiveUp", "Ingest", "Part"]

Part = Callable[[Any, HandlerContext[Any]], Awaitable[None]]
GiveUp = Callable[[Any, HandlerContext[Any], DeadLetter], Awaitable[None]]


class Ingest:
    def __init__(self) -> None:
        self._parts: dict[type[Message], list[Part]] = {}
        self._give_ups: dict[type[Message], list[GiveUp]] = {}
        self._acted_on: set[type[Message]] = set()

    def on(self, message: type[Message], part: Part, *, records_only: bool = False) -> None:
        """Have ``part(message, ctx)`` record every ``message``. ``records_only``: the part
        keeps a view of the message and does not carry out what it asks (a command another
        service consumes); a message whose parts all say so is only *observed* by the
        service (see ``Service.handles``)."""
        self._parts.setdefault(message, []).append(part)
        if not records_only:
            self._acted_on.add(message)

    def gives_up(self, message: type[Message], hook: GiveUp) -> None:
        """Have ``hook(message, ctx, dead_letter)`` end visibly what a ``message`` the bus
        gives up on was about (e.g. answer a promotion with its rejection)."""
        self._give_ups.setdefault(message, []).append(hook)

    def register(self, service: Service) -> None:
        """One handler per declared message type on ``service``."""
        for message, parts in self._parts.items():
            hooks = self._give_ups.get(message)
            on_give_up = _combined_give_up(list(hooks)) if hooks else None
            observer = message not in self._acted_on
            service.handles(message, on_give_up=on_give_up, observer=observer)(
                _combined(list(parts))
            )


def _combined(parts: list[Part]) -> Part:
    async def handle(message: Any, ctx: HandlerContext[Any]) -> None:
        for part in parts:
            await part(message, ctx)

    return handle


def _combined_give_up(hooks: list[GiveUp]) -> GiveUp:
    async def give_up(message: Any, ctx: HandlerContext[Any], dead: DeadLetter) -> None:
        for hook in hooks:
            await hook(message, ctx, dead)

    return give_up
