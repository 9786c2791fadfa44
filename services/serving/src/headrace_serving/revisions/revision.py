"""One revision at run time: its replicas, its state, and what the router and the autoscaler
ask of it.

States: ``Loading`` until the first replica serves (``revision_ready``), or ``Failed`` when a
replica cannot load and no other replica serves (``revision_failed`` with the reason);
``Ready`` while replicas serve, ``ScaledToZero`` when none runs (after the idle period),
``Retired`` once retired. Each change in the number of serving replicas after the first ready
is reported as ``scaled``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from opentelemetry.trace import Tracer

from ..autoscale.meter import ConcurrencyMeter
from ..autoscale.policy import ScalePolicy, ScaleSettings
from ..dataplane import FleetEvents, RevisionPlan, RevisionState, RevisionStatus, ServiceKey
from .process import last_error
from .replica import Replica
from .tracing import RevisionTrace

__all__ = ["Revision"]

log = logging.getLogger("headrace.serving.revisions")


class Revision:
    def __init__(
        self,
        key: ServiceKey,
        plan: RevisionPlan,
        *,
        host: str,
        logs_dir: Path,
        events: FleetEvents,
        load_timeout: float,
        scale: ScaleSettings,
        on_change: Callable[[], None],
        tracer: Tracer | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.key = key
        self.plan = plan
        self.name = plan.name
        self.label = plan.name.encode()
        self.host = host
        self.logs_dir = logs_dir
        self.events = events
        self.load_timeout = load_timeout
        self.on_change = on_change
        self.limit = plan.container_concurrency
        self.state: RevisionState = "Loading"
        self.reason = ""
        self.replicas: list[Replica] = []
        self.serving: list[Replica] = []
        """Ready replicas that take new requests: the router's choice."""
        self.in_flight = 0
        self.waiting = 0
        self.meter = ConcurrencyMeter(self.loop.time())
        self.policy = ScalePolicy(scale)
        self.last_active = self.loop.time()
        self.ever_ready = False
        self._reported = 0
        self._count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.trace = RevisionTrace.of(tracer, key, plan)
        self.first_request = self.trace
        """Until the revision has answered a request: its trace, where the router records
        that first request (then None)."""

    # requests (called by the router, on its hot path) ----------------------------------

    @property
    def routable(self) -> bool:
        """Loaded once and not failed or retired: it serves, or wakes from zero."""
        return self.ever_ready and self.state in ("Ready", "ScaledToZero")

    @property
    def failure(self) -> str | None:
        if self.state == "Failed":
            return f"revision {self.name} of InferenceService {self.key} failed: {self.reason}"
        if self.state == "Retired":
            return f"revision {self.name} of InferenceService {self.key} is retired"
        return None

    def acquire(self) -> Replica | None:
        """The least-loaded serving replica with room (``container_concurrency``)."""
        best: Replica | None = None
        for replica in self.serving:
            if best is None or replica.in_flight < best.in_flight:
                best = replica
        if best is None or (self.limit and best.in_flight >= self.limit):
            return None
        best.in_flight += 1
        self.in_flight += 1
        now = self.loop.time()
        self.meter.add(now, 1)
        self.last_active = now
        return best

    def release(self, replica: Replica) -> None:
        replica.in_flight -= 1
        self.in_flight -= 1
        now = self.loop.time()
        self.meter.add(now, -1)
        self.last_active = now
        if replica.in_flight == 0 and replica.state == "draining":
            replica.stop_soon()
        if self.limit:
            self.on_change()  # room for a queued request

    def unreachable(self, replica: Replica, reason: str) -> None:
        """The router could not connect to ``replica``: no more requests to it; it stops
        once its requests in flight end, and the autoscaler starts another."""
        if replica.state == "ready":
            log.warning("replica %r of %s is unreachable (%s): replacing it", replica, self.key,
                        reason)  # fmt: skip
            self._take_out(replica)
            replica.drain()
            self._report()

    def begin_wait(self) -> None:
        """A request waits for a replica of this revision (cold start or a full one)."""
        self.waiting += 1
        now = self.loop.time()
        self.meter.add(now, 1)
        self.last_active = now
        if not self.live():
            self.scale_to(1)

    def end_wait(self) -> None:
        self.waiting -= 1
        self.meter.add(self.loop.time(), -1)

    # replicas --------------------------------------------------------------------------

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.state in ("starting", "ready")]

    def start(self) -> None:
        if self.trace is not None:
            self.trace.loading()
        self.scale_to(max(self.plan.min_replicas, 1))

    def scale_to(self, count: int) -> None:
        if self.state in ("Failed", "Retired"):
            return
        live = self.live()
        for _ in range(count - len(live)):
            self._add()
        if len(live) > count:
            # Starting replicas first, then the least loaded; each finishes its requests.
            live.sort(key=lambda r: (r.state == "ready", r.in_flight))
            for replica in live[: len(live) - count]:
                self._take_out(replica)
                replica.drain()
            self._report()

    def _add(self) -> None:
        self._count += 1
        folder = self.logs_dir / self.key.namespace / self.key.name
        replica = Replica(
            self.name, self._count, self.host, folder / f"{self.name}-{self._count}.log"
        )
        self.replicas.append(replica)
        task = self.loop.create_task(self._run(replica))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, replica: Replica) -> None:
        try:
            reason = await replica.start(self.plan, self.load_timeout)
            if replica.state != "starting":  # scaled down or stopped while it started
                return
            if reason is not None:
                await replica.stop()
                self._replica_failed(replica, reason)
                return
            replica.state = "ready"
            self.serving.append(replica)
            self._ready()
            assert replica.process is not None
            status = await replica.process.wait()
            if replica.state == "ready":
                log.warning("replica %r exited with status %s: %s", replica, status,
                            last_error(replica.log_path))  # fmt: skip
                await replica.stop()
        finally:
            self._forget(replica)

    def _ready(self) -> None:
        if not self.ever_ready:
            self.ever_ready = True
            self.state = "Ready"
            if self.trace is not None:
                self.trace.loaded()
            self._reported = len(self.serving)
            self.events.revision_ready(self.key, self.name, self._reported)
        else:
            self._report()
        self.on_change()

    def _replica_failed(self, replica: Replica, reason: str) -> None:
        if self.serving:
            log.warning("replica %r of %s did not start: %s", replica, self.key, reason)
            return
        self.state = "Failed"
        self.reason = reason
        if self.trace is not None:
            self.trace.loaded(reason)
        log.error("revision %s of %s failed: %s", self.name, self.key, reason)
        for other in self.replicas:
            other.drain()
        self.events.revision_failed(self.key, self.name, reason)
        self.on_change()

    def _take_out(self, replica: Replica) -> None:
        if replica in self.serving:
            self.serving.remove(replica)

    def _forget(self, replica: Replica) -> None:
        self._take_out(replica)
        if replica in self.replicas:
            self.replicas.remove(replica)
        self._report()

    def _report(self) -> None:
        if not self.ever_ready or self.state in ("Failed", "Retired"):
            return
        count = len(self.serving)
        if count == 0 and not self.live():
            self.state = "ScaledToZero"
        elif count:
            self.state = "Ready"
        if count != self._reported:
            self._reported = count
            self.events.scaled(self.key, self.name, count)
            self.on_change()

    # ends ------------------------------------------------------------------------------

    async def retire(self) -> None:
        """No new requests; wait for the ones in flight; stop every replica."""
        if self.state != "Failed":
            self.state = "Retired"
        if self.trace is not None:
            self.trace.loaded("retired before it served")
        self.serving.clear()
        replicas = list(self.replicas)
        for replica in replicas:
            replica.drain()
        self.on_change()
        await asyncio.gather(*(r.stopped.wait() for r in replicas))

    async def stop(self) -> None:
        """Stop every replica now (the fleet shuts down)."""
        self.state = "Retired"
        if self.trace is not None:
            self.trace.loaded("stopped before it served")
        self.serving.clear()
        await asyncio.gather(*(r.stop() for r in list(self.replicas)))
        # Each replica's task ends once its process has: wait, so none is left running.
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=15)
            for task in pending:
                task.cancel()

    def status(self) -> RevisionStatus:
        return RevisionStatus(
            revision=self.name,
            state=self.state,
            replicas=len(self.live()),
            ready_replicas=len(self.serving),
            reason=self.reason,
        )
