"""What a Pod says about its replica (pure: reads the object, calls nothing).

`pod_state` reads a Pod, as the official client's ``V1Pod`` or the JSON the API server sends
(a watch event's ``object``, a list's item), into a `PodObservation`:

* ``phase``: the pod's phase, except that a pod whose main container was ``OOMKilled`` is
  FAILED whatever phase it reports (the kubelet has reported ``Succeeded`` for one);
* ``exit_code`` / ``reason`` of the first terminated container (``Completed``, ``Error``,
  ``OOMKilled``, ``StartError``...), and ``oom_killed``;
* ``waiting``: why a pending pod does not run: ``Unschedulable`` (the ``PodScheduled``
  condition, its message naming what is missing, e.g. ``Insufficient nvidia.com/gpu``) or a
  container's waiting reason (``ImagePullBackOff``, ``ErrImagePull``, ...), with
  ``waiting_since`` (seconds since the epoch) and ``fatal`` for the waits that never end by
  themselves on a ``restartPolicy: Never`` pod;
* ``restarts`` and ``last_termination`` (a container restarted: its previous end);
* ``deleting``: the pod has a ``deletionTimestamp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes.client import ApiClient

from ...base import Phase, ReplicaState

__all__ = ["FATAL_WAITING", "PodObservation", "Termination", "as_dict", "pod_state"]

FATAL_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
"""Container waiting reasons a step pod does not recover from by waiting."""
UNSCHEDULABLE = "Unschedulable"
_PHASES = {phase.value: phase for phase in Phase}


@dataclass(frozen=True)
class Termination:
    """How a container ended."""

    exit_code: int | None
    reason: str
    message: str
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class PodObservation:
    """One Pod as last seen (see the module docstring)."""

    uid: str
    name: str
    namespace: str
    resource_version: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    phase: Phase
    host: str = ""
    started_at: float | None = None
    termination: Termination | None = None
    waiting: str = ""
    waiting_message: str = ""
    waiting_since: float | None = None
    restarts: int = 0
    last_termination: Termination | None = None
    deleting: bool = False

    @property
    def oom_killed(self) -> bool:
        return self.termination is not None and self.termination.reason == "OOMKilled"

    @property
    def fatal(self) -> bool:
        """A wait that never ends by itself (an image that cannot be pulled...)."""
        return self.waiting in FATAL_WAITING

    @property
    def ran(self) -> bool:
        """Whether a container of the pod ever started."""
        return self.phase is Phase.RUNNING or (
            self.termination is not None and self.termination.started_at is not None
        )

    @property
    def reason(self) -> str:
        """Why the replica failed or waits, in one line ("" when there is nothing to say)."""
        if self.termination is not None and self.phase is Phase.FAILED:
            text = self.termination.reason
            return f"{text}: {self.termination.message}" if self.termination.message else text
        if self.waiting:
            return (
                f"{self.waiting}: {self.waiting_message}" if self.waiting_message else self.waiting
            )
        return ""

    def replica(self, role: str, index: int) -> ReplicaState:
        """This pod as the backend interface's `ReplicaState` of replica ``role``-``index``."""
        term = self.termination
        return ReplicaState(
            role=role,
            index=index,
            phase=self.phase,
            exit_code=term.exit_code if term is not None and self.phase.final else None,
            host=self.host,
            started_at=self.started_at,
            finished_at=term.finished_at if term is not None and self.phase.final else None,
            reason=self.reason,
            oom_killed=self.oom_killed,
        )


def as_dict(obj: Any) -> dict[str, Any]:
    """A Kubernetes object as the API's JSON (camelCase keys), from a dict or a client model."""
    if isinstance(obj, Mapping):
        return dict(obj)
    found = ApiClient().sanitize_for_serialization(obj)
    if not isinstance(found, dict):
        raise TypeError(f"{type(obj).__name__} is not a Kubernetes object")
    return found


def seconds(stamp: Any) -> float | None:
    """An RFC 3339 time (``2018-12-02T09:17:59Z``, or a datetime) as seconds since the epoch."""
    if stamp is None or stamp == "":
        return None
    if isinstance(stamp, datetime):
        return stamp.timestamp()
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def _termination(state: Mapping[str, Any] | None) -> Termination | None:
    ended = (state or {}).get("terminated")
    if not ended:
        return None
    code = ended.get("exitCode")
    return Termination(
        exit_code=int(code) if code is not None else None,
        reason=str(ended.get("reason") or ""),
        message=str(ended.get("message") or "").strip(),
        started_at=seconds(ended.get("startedAt")),
        finished_at=seconds(ended.get("finishedAt")),
    )


def pod_state(pod: Any) -> PodObservation:
    """Read ``pod`` (a ``V1Pod`` or its JSON) into a `PodObservation`."""
    data = as_dict(pod)
    meta = data.get("metadata") or {}
    status = data.get("status") or {}
    statuses = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    termination = next(
        (
            t
            for t in (_termination(c.get("state")) for c in statuses)
            if t is not None and t.reason != "Completed"
        ),
        None,
    ) or next((t for t in (_termination(c.get("state")) for c in statuses) if t is not None), None)
    phase = _PHASES.get(str(status.get("phase") or "Pending"), Phase.PENDING)
    if termination is not None and termination.reason == "OOMKilled":
        phase = Phase.FAILED
    waiting, message, since = "", "", None
    if phase is Phase.PENDING:
        for condition in status.get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                waiting = str(condition.get("reason") or UNSCHEDULABLE)
                message = str(condition.get("message") or "")
                since = seconds(condition.get("lastTransitionTime"))
        if not waiting:
            for container in statuses:
                wait = (container.get("state") or {}).get("waiting") or {}
                if wait.get("reason") in FATAL_WAITING:
                    waiting = str(wait["reason"])
                    message = str(wait.get("message") or "")
                    since = seconds(status.get("startTime"))
                    break
        if since is None and waiting:
            since = seconds(meta.get("creationTimestamp"))
    restarted = [c for c in statuses if int(c.get("restartCount") or 0) > 0]
    return PodObservation(
        uid=str(meta.get("uid") or ""),
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        phase=phase,
        host=str((data.get("spec") or {}).get("nodeName") or status.get("hostIP") or ""),
        started_at=seconds(status.get("startTime")),
        termination=termination,
        waiting=waiting,
        waiting_message=message,
        waiting_since=since,
        restarts=sum(int(c.get("restartCount") or 0) for c in statuses),
        last_termination=_termination(restarted[0].get("lastState")) if restarted else None,
        deleting=meta.get("deletionTimestamp") is not None,
    )
