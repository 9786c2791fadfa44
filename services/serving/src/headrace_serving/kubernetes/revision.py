"""A revision that runs on Kubernetes, as the router sees it: one upstream, its Service.

The router's seam is `Revision`: the split asks whether it can serve, the router asks it for
a replica (`acquire`) and gives it back (`release`). A `KubeRevision` has exactly one
"replica", the endpoint ``<service>.<namespace>.svc:8080`` whose connection pool the router
uses; Kubernetes spreads the connections over the ready pods. It does not start or scale
anything itself (the Deployment and its autoscaler do): the data plane's watches feed it the
Deployment (`observe_deployment`: ready replicas) and the pods (`observe_pod`: why one
cannot run), and it reports ``revision_ready``, ``scaled`` and ``revision_failed`` as a
local revision does. ``container_concurrency`` limits requests in flight to that many per
ready pod.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.trace import Tracer

from ..autoscale.policy import ScaleSettings
from ..dataplane import FleetEvents, RevisionPlan, RevisionStatus, ServiceKey
from ..revisions.replica import Replica
from ..revisions.revision import Revision
from ..router.upstream import UpstreamPool
from .manifests import RevisionObjects
from .observe import PodProblem, deployment_counts, pod_problem

__all__ = ["KubeRevision"]

log = logging.getLogger("headrace.serving.kubernetes")


class KubeRevision(Revision):
    def __init__(
        self,
        key: ServiceKey,
        plan: RevisionPlan,
        objects: RevisionObjects,
        *,
        events: FleetEvents,
        on_change: Callable[[], None],
        unschedulable_seconds: float,
        tracer: Tracer | None = None,
    ) -> None:
        high = max(plan.max_replicas, plan.min_replicas, 1)
        super().__init__(
            key,
            plan,
            host=objects.host,
            logs_dir=Path(),
            events=events,
            load_timeout=0.0,
            scale=ScaleSettings(min_replicas=plan.min_replicas, max_replicas=high),
            on_change=on_change,
            tracer=tracer,
        )
        if self.trace is not None:
            self.trace.loading()  # its objects are being created (or adopted)
        self.objects = objects
        self.unschedulable_seconds = unschedulable_seconds
        self.endpoint = Replica(plan.name, 0, objects.host, Path())
        self.endpoint.port = objects.port
        self.endpoint.pool = UpstreamPool(objects.host, objects.port)
        self.replicas = [self.endpoint]
        self.replica_count = 0
        self.ready_count = 0
        self.problems: dict[str, PodProblem] = {}

    # the Deployment and its autoscaler start and scale the pods ----------------------------

    def start(self) -> None:
        pass

    def scale_to(self, count: int) -> None:
        pass

    def unreachable(self, replica: Replica, reason: str) -> None:
        """The Service could not be reached: its idle connections go; the next request
        connects again (Kubernetes picks a ready pod)."""
        log.warning("revision %s of %s: %s", self.name, self.key, reason)
        replica.pool.close()
        replica.pool = UpstreamPool(self.objects.host, self.objects.port)

    # what the watches see ------------------------------------------------------------------

    def observe_deployment(self, deployment: dict[str, Any] | None) -> None:
        """The Deployment as listed or watched (None: deleted)."""
        if self.state in ("Failed", "Retired"):
            return
        replicas, ready = deployment_counts(deployment or {})
        self.replica_count = replicas
        self.ready_count = ready
        self.limit = self.plan.container_concurrency * ready
        if ready:
            self.endpoint.state = "ready"
            self.serving = [self.endpoint]
            self.state = "Ready"
            if not self.ever_ready:
                self.ever_ready = True
                self._reported = ready
                self.problems.clear()
                if self.trace is not None:
                    self.trace.loaded()
                self.events.revision_ready(self.key, self.name, ready)
                self.on_change()
                return
        else:
            self.endpoint.state = "starting"
            self.serving = []
            if self.ever_ready:
                self.state = "ScaledToZero"
        if self.ever_ready and ready != self._reported:
            self._reported = ready
            self.events.scaled(self.key, self.name, ready)
        self.on_change()

    def observe_pod(self, name: str, pod: dict[str, Any] | None, now: float) -> None:
        """A pod of this revision as listed or watched (None: deleted)."""
        problem = pod_problem(pod, seen=now) if pod is not None else None
        if problem is None:
            self.problems.pop(name, None)
        else:
            known = self.problems.get(name)
            if known is not None and known.reason == problem.reason and known.since is not None:
                problem = PodProblem(problem.reason, problem.message, known.since)
            self.problems[name] = problem
        self.check(now)

    def check(self, now: float) -> None:
        """A revision that never served fails when one of its pods cannot run."""
        if self.ever_ready or self.state in ("Failed", "Retired"):
            return
        for name, problem in sorted(self.problems.items()):
            if problem.fatal(now, self.unschedulable_seconds):
                reason = problem.describe(name)
                if problem.reason == "Unschedulable":
                    reason += f" (for {self.unschedulable_seconds:g} s)"
                self.fail(reason)
                return

    def fail(self, reason: str) -> None:
        if self.state in ("Failed", "Retired"):
            return
        self.state = "Failed"
        self.reason = reason
        self.serving = []
        if self.trace is not None:
            self.trace.loaded(reason)
        log.error("revision %s of %s failed: %s", self.name, self.key, reason)
        self.events.revision_failed(self.key, self.name, reason)
        self.on_change()

    def status(self) -> RevisionStatus:
        return RevisionStatus(
            revision=self.name,
            state=self.state,
            replicas=self.replica_count,
            ready_replicas=self.ready_count,
            reason=self.reason,
        )
