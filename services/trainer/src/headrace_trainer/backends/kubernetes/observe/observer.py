"""Pod watch events in, the backend interface's `GangEvent`s out: a resumable state machine
with no I/O and no clock of its own (every call is given ``now``, seconds since the epoch).

The caller lists the pods (by label), hands the list to `Observer.adopt` (after a restart)
or `Observer.relist`, then watches from `Observer.resource_version` and feeds each event to
`Observer.apply`. When the watch expires (an ``ERROR`` event with a 410 ``Status``, or an
HTTP 410 from the watch call: `Observer.expired`), `needs_relist` turns true: the caller
lists again and hands that list to `relist`, which emits exactly the changes missed while
disconnected. `tick` reports pods that waited for a node longer than allowed, when no event
comes.

Exactly once: the observer keeps, per pod uid, the last state seen and whether it emitted
``started`` and ``exited`` for it; an event or list that repeats or goes back to a state
already reported emits nothing. A pod that ran and ended while the watch was down gets its
``started`` and ``exited`` both, in that order.

What is reported as an exit (``exited``, phase FAILED, ``reason`` saying why):

* a container terminated (``Error`` with its exit code, ``OOMKilled`` with
  ``oom_killed``), or the pod ``Succeeded``;
* a wait that never ends by itself: an image that cannot be pulled (``ImagePullBackOff``,
  ``ErrImagePull``, ...) or a bad container config: at once;
* ``Unschedulable`` (no node has what it asks, e.g. ``Insufficient nvidia.com/gpu``) once it
  has been so for ``unschedulable_after`` seconds;
* a pod deleted (or gone from a relist) before it ended: ``Deleted``.

The backend then deletes the Job of a replica reported failed while its pod is pending.

Adoption contract (`adopt`, a new observer after a launcher restart): each Headrace pod in
the list gives one ``adopted`` event with its current state and counts as already reported
up to that state: a running pod's ``started`` is not emitted again (its ``exited`` comes
when it ends); a pod already ended is reported by its ``adopted`` event only (the launcher
reads a final phase there as the exit). A pending pod's later start is a ``started`` event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ....errors import WatchFailed
from ...base import GangEvent, Phase, ReplicaState
from .identity import Identify, ReplicaKey, headrace_identity
from .pods import UNSCHEDULABLE, PodObservation, as_dict, pod_state

__all__ = ["Observer"]

GONE = 410


@dataclass
class _Seen:
    key: ReplicaKey
    pod: PodObservation
    started: bool = False
    exited: bool = False


class Observer:
    """Follows the pods of the gangs that ``identify`` recognises (see the module docstring)."""

    def __init__(
        self, *, unschedulable_after: float, identify: Identify = headrace_identity
    ) -> None:
        if unschedulable_after < 0:
            raise ValueError(
                f"unschedulable_after is {unschedulable_after}: give the seconds a pod may "
                "wait for a node before it is reported Unschedulable (>= 0)"
            )
        self.unschedulable_after = unschedulable_after
        self._identify = identify
        self._pods: dict[str, _Seen] = {}
        self.resource_version = ""
        self.needs_relist = False

    # -- the caller's four entry points ---------------------------------------------------

    def adopt(self, listing: Any, *, now: float) -> list[GangEvent]:
        """Take over the pods of ``listing`` (a PodList) after a restart: one ``adopted``
        event each; watch from the list's resourceVersion afterwards."""
        events: list[GangEvent] = []
        for pod in self._items(listing):
            key = self._identify(pod)
            if key is None or pod.uid in self._pods:
                continue
            seen = _Seen(key, pod, started=pod.ran, exited=pod.phase.final)
            self._pods[pod.uid] = seen
            events.append(self._event(seen, "adopted", pod.replica(key.role, key.index)))
            events.extend(self._pending(seen, now))
        return events

    def apply(self, event: Mapping[str, Any], *, now: float) -> list[GangEvent]:
        """One watch event (``{"type": ..., "object": ...}``, as the API server or the
        client's ``Watch.stream`` gives it) -> the changes it makes."""
        if self.needs_relist:
            raise WatchFailed(
                "a watch event came after the watch expired: list the pods again and give "
                "the list to relist() before watching from its resourceVersion"
            )
        kind = event.get("type")
        raw = event.get("raw_object") or event.get("object")
        obj = as_dict(raw) if raw is not None else {}
        if kind == "BOOKMARK":
            self.resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            return []
        if kind == "ERROR":
            if obj.get("code") == GONE:
                self.expired()
                return []
            raise WatchFailed(
                f"the pod watch failed: {obj.get('code')} {obj.get('reason')}: "
                f"{obj.get('message')} (restart the watch from a fresh list)"
            )
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            raise WatchFailed(
                f"watch event type {kind!r} is none of ADDED, MODIFIED, DELETED, BOOKMARK, ERROR"
            )
        pod = pod_state(obj)
        if not pod.uid:
            raise WatchFailed(f"a {kind} pod event has no metadata.uid (pod {pod.name!r})")
        self.resource_version = pod.resource_version or self.resource_version
        return self._observe(pod, now, deleted=kind == "DELETED")

    def expired(self) -> None:
        """The watch's resourceVersion is too old (HTTP 410 Gone): list again, then `relist`."""
        self.needs_relist = True
        self.resource_version = ""

    def relist(self, listing: Any, *, now: float) -> list[GangEvent]:
        """A fresh list after an expired watch -> the changes missed meanwhile; a pod known
        and not ended that is gone from the list ended by deletion."""
        listed = self._items(listing)
        events: list[GangEvent] = []
        for pod in listed:
            events.extend(self._observe(pod, now, deleted=False))
        present = {pod.uid for pod in listed}
        for uid, seen in list(self._pods.items()):
            if uid not in present and not seen.exited:
                events.extend(self._observe(seen.pod, now, deleted=True))
        self.needs_relist = False
        return events

    def tick(self, *, now: float) -> list[GangEvent]:
        """Pods that have now waited for a node longer than ``unschedulable_after``."""
        return [event for seen in self._pods.values() for event in self._pending(seen, now)]

    def states(self) -> dict[str, ReplicaState]:
        """Each followed pod's replica as last seen, by pod uid."""
        return {
            uid: seen.pod.replica(seen.key.role, seen.key.index) for uid, seen in self._pods.items()
        }

    # -- the rules ------------------------------------------------------------------------

    def _items(self, listing: Any) -> list[PodObservation]:
        data = as_dict(listing)
        self.resource_version = str((data.get("metadata") or {}).get("resourceVersion") or "")
        return [pod_state(item) for item in data.get("items") or []]

    def _observe(self, pod: PodObservation, now: float, *, deleted: bool) -> list[GangEvent]:
        seen = self._pods.get(pod.uid)
        if seen is None:
            key = self._identify(pod)
            if key is None:
                return []
            seen = self._pods[pod.uid] = _Seen(key, pod)
        if seen.exited:
            return []
        seen.pod = pod
        state = pod.replica(seen.key.role, seen.key.index)
        if pod.phase.final:
            return [*self._start(seen, state), self._exit(seen, state)]
        if deleted:
            ended = dataclasses.replace(
                state,
                phase=Phase.FAILED,
                reason="Deleted: the pod was deleted before it ended",
            )
            return [self._exit(seen, ended)]
        if pod.phase is Phase.RUNNING:
            return self._start(seen, state)
        return self._pending(seen, now)

    def _pending(self, seen: _Seen, now: float) -> list[GangEvent]:
        pod = seen.pod
        if seen.exited or pod.phase is not Phase.PENDING:
            return []
        state = pod.replica(seen.key.role, seen.key.index)
        if pod.fatal:
            return [self._exit(seen, dataclasses.replace(state, phase=Phase.FAILED))]
        if pod.waiting == UNSCHEDULABLE and pod.waiting_since is not None:
            waited = now - pod.waiting_since
            if waited >= self.unschedulable_after:
                reason = f"{pod.reason} (no node for {waited:.0f} s)"
                return [
                    self._exit(seen, dataclasses.replace(state, phase=Phase.FAILED, reason=reason))
                ]
        return []

    def _start(self, seen: _Seen, state: ReplicaState) -> list[GangEvent]:
        if seen.started or not seen.pod.ran:
            return []
        seen.started = True
        running = dataclasses.replace(
            state,
            phase=Phase.RUNNING,
            exit_code=None,
            finished_at=None,
            reason="",
            oom_killed=False,
        )
        return [self._event(seen, "started", running)]

    def _exit(self, seen: _Seen, state: ReplicaState) -> GangEvent:
        seen.exited = True
        return self._event(seen, "exited", state)

    @staticmethod
    def _event(
        seen: _Seen, kind: Literal["started", "exited", "adopted"], state: ReplicaState
    ) -> GangEvent:
        return GangEvent(seen.key.gang_id, seen.key.attempt, kind, state)
