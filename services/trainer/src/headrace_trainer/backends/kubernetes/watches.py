"""Following one gang on the cluster: two watches by the gang's label, resumed from their
resourceVersion (the pod watch through `Observer`; the Job watch for Jobs that failed or
went before making a pod), and the client calls they list with.

`Watches.follow` starts both as tasks of the gang's `GangRecord`; what they learn goes to
the backend's ``report`` (which keeps the events and follows the started pods' logs). A watch
call ends after ``watch_seconds`` and is made again from where it was; a 410 Gone (an
``ERROR`` event, or the HTTP status) lists again and resumes from that list, which
`Observer.relist` turns into exactly the changes missed. Pods waiting for a node are checked
each ``tick`` without an event (`Observer.tick`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from headrace_kube import Lines

from ...errors import WatchFailed, WorkloadError
from ..base import GangEvent
from .api import Action, KubernetesApi, explain
from .manifests.meta import LABEL_REPLICA
from .manifests.per_index import INDEX_ANNOTATION
from .objects import ANNOTATION_GANG, ANNOTATION_GANG_ATTEMPT, gang_selector
from .observe import JobObservation, Observer, ReplicaKey, job_state
from .observe.pods import PodObservation
from .record import GangRecord
from .settings import KubernetesSettings

__all__ = ["Report", "Watches", "annotation", "gang_identity"]

log = logging.getLogger("headrace.trainer.backends.kubernetes")
RETRY_SECONDS = 1.0
Report = Callable[[GangRecord, list[GangEvent], "dict[str, Any] | None"], None]


def gang_identity(pod: PodObservation) -> ReplicaKey | None:
    """The replica a pod is, from the gang marks the backend puts on every pod."""
    gang = pod.annotations.get(ANNOTATION_GANG)
    if not gang:
        return None
    try:
        attempt = int(pod.annotations.get(ANNOTATION_GANG_ATTEMPT) or 1)
        index = int(pod.annotations.get(INDEX_ANNOTATION) or 0)
    except ValueError:
        return None
    return ReplicaKey(gang, attempt, pod.labels.get(LABEL_REPLICA) or "step", index)


class Watches:
    """The watches and list calls of the gangs of one backend."""

    def __init__(
        self,
        k8s: KubernetesApi,
        settings: KubernetesSettings,
        *,
        clock: Callable[[], float],
        report: Report,
    ) -> None:
        self.k8s = k8s
        self.settings = settings
        self._clock = clock
        self._report = report

    def follow(self, record: GangRecord, *, listing: dict[str, Any] | None) -> None:
        observer = Observer(
            unschedulable_after=self.settings.unschedulable_seconds, identify=gang_identity
        )
        if listing is not None:
            self._report(record, observer.adopt(listing, now=self._clock()), listing)
        record.tasks.append(
            asyncio.create_task(self._watch_pods(record, observer), name=f"k8s-pods-{record.id}")
        )
        record.tasks.append(
            asyncio.create_task(self._watch_jobs(record), name=f"k8s-jobs-{record.id}")
        )

    async def _watch_pods(self, record: GangRecord, observer: Observer) -> None:
        """Follow the gang's pods until every replica ended (see the module docstring)."""
        tick = min(5.0, max(0.1, self.settings.unschedulable_seconds / 4))
        while not record.done.is_set():
            if not observer.resource_version or observer.needs_relist:
                try:
                    listing = await self.list_pods(record)
                except WorkloadError as error:
                    log.warning("gang %s: %s; listing again", record.id, error)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self._report(record, observer.relist(listing, now=self._clock()), listing)
                continue
            lines = self._watch_call(
                self.k8s.core.list_namespaced_pod, record, observer.resource_version
            )
            try:
                while not record.done.is_set():
                    try:
                        line = await asyncio.wait_for(lines.get(), tick)
                    except TimeoutError:
                        self._report(record, observer.tick(now=self._clock()), None)
                        continue
                    if line is None:
                        break  # the watch call's time is up: watch again from where it was
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    self._report(record, observer.apply(event, now=self._clock()), event)
                    if observer.needs_relist:
                        break
            except ApiException as error:
                if error.status == 410:
                    observer.expired()
                else:
                    log.warning("gang %s: the pod watch failed: %s", record.id, error.reason)
                    observer.expired()
                    await asyncio.sleep(RETRY_SECONDS)
            except (HTTPError, OSError, ValueError, WatchFailed) as error:
                log.warning("gang %s: the pod watch broke (%s); listing again", record.id, error)
                observer.expired()
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                lines.close()

    async def _watch_jobs(self, record: GangRecord) -> None:
        """Follow the gang's Jobs: one that failed, or went, before making a pod ends its
        replicas; every Job gone ends what a stop waits for."""
        version = ""
        while True:
            if not version:
                try:
                    listing = await self.call(
                        Action("list", "jobs", record.namespace, "batch"),
                        self.k8s.batch.list_namespaced_job,
                        record.namespace,
                        label_selector=gang_selector(record.id),
                    )
                except WorkloadError as error:
                    log.warning("gang %s: %s; listing again", record.id, error)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
                present = {
                    str(job["metadata"]["name"])
                    for job in listing.get("items") or []
                    if annotation(job, ANNOTATION_GANG_ATTEMPT) == str(record.attempt)
                }
                for name in record.live_jobs - present:
                    self._job_gone(record, name)
                for job in listing.get("items") or []:
                    self._job_seen(record, job_state(job))
                if not record.live_jobs:
                    return
            lines = self._watch_call(self.k8s.batch.list_namespaced_job, record, version)
            try:
                while (line := await lines.get()) is not None:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        version = ""  # 410 Gone, or another error: list again
                        break
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if event.get("type") == "BOOKMARK":
                        continue
                    if annotation(obj, ANNOTATION_GANG_ATTEMPT) != str(record.attempt):
                        continue
                    if event.get("type") == "DELETED":
                        self._job_gone(record, str(obj["metadata"]["name"]))
                    else:
                        self._job_seen(record, job_state(obj))
                    if not record.live_jobs:
                        return
            except (ApiException, HTTPError, OSError, ValueError) as error:
                log.warning("gang %s: the Job watch broke (%s); listing again", record.id, error)
                version = ""
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                lines.close()

    def _job_seen(self, record: GangRecord, job: JobObservation) -> None:
        if job.outcome != "Failed":
            return
        role = next((j.role for j in record.jobs if j.name == job.name), None)
        if role is None:
            return
        reason = f"{job.reason}: {job.message}" if job.message else job.reason
        record.end_unseen(f"the Job {job.name} failed ({reason})", role=role)

    def _job_gone(self, record: GangRecord, name: str) -> None:
        record.live_jobs.discard(name)
        role = next((j.role for j in record.jobs if j.name == name), None)
        if role is not None:
            record.end_unseen(f"the Job {name} was deleted before its pod started", role=role)
        if not record.live_jobs:
            record.jobs_gone.set()

    async def list_pods(self, record: GangRecord) -> dict[str, Any]:
        return await self.call(
            Action("list", "pods", record.namespace),
            self.k8s.core.list_namespaced_pod,
            record.namespace,
            label_selector=gang_selector(record.id),
        )

    async def call(self, action: Action, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            response = call(*args, _preload_content=False, **kwargs)
            found = json.loads(response.data or b"{}")
            return found if isinstance(found, dict) else {}

        try:
            return await asyncio.to_thread(run)
        except (ApiException, HTTPError) as error:
            raise WorkloadError(explain(error, action, server=self.k8s.server)) from error

    def _watch_call(self, call: Any, record: GangRecord, version: str) -> Lines:
        return Lines(
            lambda: call(
                record.namespace,
                label_selector=gang_selector(record.id),
                watch=True,
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=self.settings.watch_seconds,
                _preload_content=False,
            ),
            name=f"watch-{record.id}",
        ).start()


def annotation(obj: dict[str, Any], name: str) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(name) or "")
