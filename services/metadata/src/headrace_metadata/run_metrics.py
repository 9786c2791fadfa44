"""Steps and runs by state and duration, measured as the read model records their events.

``headrace.steps``           steps that ended, by ``state`` (succeeded, failed, cached,
                             skipped, cancelled)
``headrace.step.duration``   seconds from a step's start to its end, by ``state``
``headrace.runs``            runs that ended, by ``state`` (succeeded, failed, cancelled)
``headrace.run.duration``    seconds from a run's start to its end, by ``state``

A duration is the time between the events' own timestamps (``StepSucceeded`` carries its
step's duration itself), whichever of the two arrives first: the first is remembered for the
most recent ``STARTS_KEPT`` runs and steps, so an end whose start this replica never sees
(another replica handled it) is counted without a duration.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from opentelemetry.metrics import Counter, Histogram, Meter

from headrace_contracts import (
    RunCancelled,
    RunFailed,
    RunStarted,
    RunSucceeded,
    StepCached,
    StepCancelled,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from headrace_runtime import HandlerContext, Service

from .ingest import Ingest

__all__ = ["STARTS_KEPT", "RunMetrics", "register"]

STARTS_KEPT = 100_000
STEP_ENDS: dict[type[Any], str] = {
    StepSucceeded: "succeeded",
    StepFailed: "failed",
    StepCached: "cached",
    StepSkipped: "skipped",
    StepCancelled: "cancelled",
}
RUN_ENDS: dict[type[Any], str] = {
    RunSucceeded: "succeeded",
    RunFailed: "failed",
    RunCancelled: "cancelled",
}


class RunMetrics:
    def __init__(self, meter: Meter) -> None:
        self.steps: Counter = meter.create_counter(
            "headrace.steps", unit="{step}", description="steps that ended, by state"
        )
        self.step_duration: Histogram = meter.create_histogram(
            "headrace.step.duration", unit="s", description="a step's time, start to end"
        )
        self.runs: Counter = meter.create_counter(
            "headrace.runs", unit="{run}", description="runs that ended, by state"
        )
        self.run_duration: Histogram = meter.create_histogram(
            "headrace.run.duration", unit="s", description="a run's time, start to end"
        )
        self._starts: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._ends: OrderedDict[tuple[str, str], tuple[datetime, str]] = OrderedDict()

    def started(self, key: tuple[str, str], at: datetime) -> None:
        end = self._ends.pop(key, None)
        if end is not None:  # its end came first (events of a run may arrive out of order)
            self._duration(key, end[1], (end[0] - at).total_seconds())
        else:
            _keep(self._starts, key, at)

    def ended(
        self, key: tuple[str, str], at: datetime, state: str, *, seconds: float | None = None
    ) -> None:
        (self.steps if key[1] else self.runs).add(1, {"state": state})
        start = self._starts.pop(key, None)
        if seconds is None and start is not None:
            seconds = (at - start).total_seconds()
        if seconds is not None:
            self._duration(key, state, seconds)
        else:
            _keep(self._ends, key, (at, state))

    def _duration(self, key: tuple[str, str], state: str, seconds: float) -> None:
        histogram = self.step_duration if key[1] else self.run_duration
        histogram.record(max(seconds, 0.0), {"state": state})


def _keep(kept: OrderedDict[tuple[str, str], Any], key: tuple[str, str], value: Any) -> None:
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > STARTS_KEPT:
        kept.popitem(last=False)


def register(ingest: Ingest, service: Service) -> None:
    """Record step and run ends on ``service``'s meter (made when it starts)."""
    held: list[RunMetrics] = []

    @service.on_start
    async def make() -> None:
        held.append(RunMetrics(service.meter))

    def moment(ctx: HandlerContext[Any]) -> datetime:
        return ctx.envelope.time or datetime.now(UTC)

    async def step_started(message: StepStarted, ctx: HandlerContext[Any]) -> None:
        if held:
            held[0].started((message.run_id, message.step_id), moment(ctx))

    async def run_started(message: RunStarted, ctx: HandlerContext[Any]) -> None:
        if held:
            held[0].started((message.run_id, ""), moment(ctx))

    def step_ended(state: str) -> Any:
        async def part(message: Any, ctx: HandlerContext[Any]) -> None:
            if held:
                seconds = message.duration_seconds if isinstance(message, StepSucceeded) else None
                key = (message.run_id, message.step_id)
                held[0].ended(key, moment(ctx), state, seconds=seconds)

        return part

    def run_ended(state: str) -> Any:
        async def part(message: Any, ctx: HandlerContext[Any]) -> None:
            if held:
                held[0].ended((message.run_id, ""), moment(ctx), state)

        return part

    ingest.on(StepStarted, step_started, records_only=True)
    ingest.on(RunStarted, run_started, records_only=True)
    for message, state in STEP_ENDS.items():
        ingest.on(message, step_ended(state), records_only=True)
    for message, state in RUN_ENDS.items():
        ingest.on(message, run_ended(state), records_only=True)
