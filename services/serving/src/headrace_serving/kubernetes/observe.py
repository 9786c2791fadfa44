"""What the API server says about a revision's Deployment and pods, as the data plane needs it:
how many replicas serve, and why a pod cannot (an image that cannot be pulled, a container
that crashes, no node for it). Pure: the caller gives objects and the time.

* `deployment_counts(deployment)`: ``(replicas, ready_replicas)`` from its status;
* `pod_problem(pod)`: a `PodProblem` or None. ``ImagePullBackOff``, ``ErrImagePull``,
  ``InvalidImageName`` and ``CreateContainerConfigError`` are fatal at once;
  ``CrashLoopBackOff`` is fatal at once with the container's last termination message (or
  its reason and exit code); ``Unschedulable`` is fatal ``unschedulable_seconds`` after the
  scheduler said so (`PodProblem.since`, the condition's time, else when first seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["IMAGE_REASONS", "PodProblem", "deployment_counts", "pod_problem", "revision_of"]

IMAGE_REASONS = frozenset(
    {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError"}
)


@dataclass(frozen=True)
class PodProblem:
    reason: str
    message: str
    since: float | None = None
    """For ``Unschedulable``: since when (epoch seconds); None: fatal at once."""

    def fatal(self, now: float, unschedulable_seconds: float) -> bool:
        return self.since is None or now - self.since >= unschedulable_seconds

    def describe(self, pod: str) -> str:
        return (
            f"pod {pod}: {self.reason}: {self.message}"
            if self.message
            else (f"pod {pod}: {self.reason}")
        )


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def revision_of(obj: dict[str, Any], annotation: str) -> str:
    """The Headrace revision an object or pod belongs to (its annotation)."""
    return str(_get(obj, "metadata", "annotations", annotation) or "")


def deployment_counts(deployment: dict[str, Any]) -> tuple[int, int]:
    status = deployment.get("status") or {}
    return int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0)


def _time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def pod_problem(pod: dict[str, Any], *, seen: float) -> PodProblem | None:
    """Why ``pod`` cannot serve (see the module docstring); ``seen``: now, the time an
    Unschedulable condition without a time counts from."""
    if _get(pod, "metadata", "deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        waiting = _get(container, "state", "waiting") or {}
        reason = str(waiting.get("reason") or "")
        message = str(waiting.get("message") or "")
        if reason in IMAGE_REASONS:
            return PodProblem(reason, message)
        if reason == "CrashLoopBackOff":
            last = _get(container, "lastState", "terminated") or {}
            said = str(last.get("message") or "").strip()
            if not said and last:
                said = (
                    f"the model server exited with code {last.get('exitCode')} "
                    f"({last.get('reason') or 'Error'})"
                )
            return PodProblem(reason, said or message)
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            since = _time(condition.get("lastTransitionTime"))
            return PodProblem(
                "Unschedulable",
                str(condition.get("message") or ""),
                since if since is not None else seen,
            )
    return None
