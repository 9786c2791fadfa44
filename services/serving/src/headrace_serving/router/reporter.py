"""Every ``interval`` seconds, the traffic of each InferenceService that answered requests
meanwhile, reported through `FleetEvents.traffic` (the fleets' routers record into
:attr:`TrafficReporter.window`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..dataplane import FleetError, FleetEvents
from .window import TrafficWindow

__all__ = ["TrafficReporter"]

log = logging.getLogger("headrace.serving.traffic")


class TrafficReporter:
    def __init__(self, events: FleetEvents, interval: float) -> None:
        if interval <= 0:
            raise FleetError(
                f"the traffic interval must be a positive number of seconds, not {interval}; "
                "set HEADRACE_SERVING_TRAFFIC_INTERVAL to e.g. 5"
            )
        self.events = events
        self.interval = interval
        self.window = TrafficWindow()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reporting (on the running loop), once."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for key, revisions in self.window.take(self.interval).items():
                try:
                    self.events.traffic(key, self.interval, revisions)
                except Exception:  # a summary lost must not stop the next ones
                    log.exception("reporting the traffic of InferenceService %s failed", key)
