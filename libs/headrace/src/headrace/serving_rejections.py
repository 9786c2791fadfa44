"""The serving service's ``InferenceServiceRejected`` answers to one command, gathered while
the client waits for the command's outcome, so a shift, delete or apply that was not carried
out is reported with its reason instead of ending in a timeout."""

from __future__ import annotations

import contextlib
from typing import Any

from nats.aio.msg import Msg

from headrace_bus import Bus
from headrace_contracts import InferenceServiceRejected, decode

from .run_errors import ClientError

__all__ = ["InferenceServiceRejectedError", "Rejections"]


class InferenceServiceRejectedError(ClientError):
    """The serving service did not carry out a command: ``rejected`` says which and why."""

    def __init__(self, rejected: InferenceServiceRejected) -> None:
        self.rejected = rejected
        super().__init__(
            f"InferenceService {rejected.namespace}/{rejected.service_name}: "
            f"{rejected.command} not carried out: {rejected.reason}"
        )


class Rejections:
    """Subscribe (:meth:`start`) before the command is sent; :meth:`check` raises the first
    rejection repeating ``request_id``; :meth:`stop` unsubscribes."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.found: list[InferenceServiceRejected] = []
        self._subscription: Any = None

    async def start(self, bus: Bus) -> None:
        marker = self.request_id.encode()

        async def on_event(msg: Msg) -> None:
            if marker not in msg.data:
                return
            with contextlib.suppress(Exception):
                found = decode(msg.headers, msg.data, bus.catalogue, subject=msg.subject).message
                if (
                    isinstance(found, InferenceServiceRejected)
                    and found.request_id == self.request_id
                ):
                    self.found.append(found)

        subject = InferenceServiceRejected.subject()
        self._subscription = await bus.connection.subscribe(subject, cb=on_event)

    async def stop(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    def check(self) -> None:
        if self.found:
            raise InferenceServiceRejectedError(self.found[0])
