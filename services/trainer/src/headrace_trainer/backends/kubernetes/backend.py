"""`KubernetesBackend`: the `WorkloadBackend` that runs gangs as ``batch/v1`` Jobs.

* ``start``: the gang's objects (`objects.build`: a step's ConfigMap and Job, or a
  training job's Service, PodGroup and Indexed Jobs) created all or nothing under their
  parent (`create.create_all`); a refusal (missing namespace, RBAC) is a `WorkloadError`
  naming the namespace, the verb and resource, and the fix;
* ``events``: two watches per gang, of its pods and its Jobs by the gang's label, each
  resumed from its resourceVersion; the pods' events go through `Observer` (exactly once per
  change, 410 Gone: a fresh list, then the watch again from it), a Job that failed or went
  before making a pod ends its replicas with the Job's reason; pods that wait for a node
  longer than ``unschedulable_seconds`` fail as ``Unschedulable``;
* ``logs``: each pod's log followed from its start into a spool file, copied to the
  artifact store under the replica's ``log_key`` while it runs and once it ended
  (`podlogs`), so it stays readable after the pod is gone;
* ``stop``: the gang's Jobs deleted (``propagationPolicy: Foreground``, ``grace`` as the
  pods' grace period); ``remove``: the parent deleted (``Background``: the garbage collector
  deletes the rest), or for a pipeline step (whose parent is its run's) its own objects;
* ``adopt``: the gang's Jobs listed by label after a restart, its pods listed and adopted
  (`Observer.adopt`), the watches resumed from that list (`watches`).

Client calls block, so each runs in a worker thread (``asyncio.to_thread``); the watches and
followed logs read their streamed responses in threads of their own (`streams.Lines`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from headrace_artifacts import ArtifactStore

from ...errors import UnknownGang, WorkloadError
from ...executor.logs import safe_segment
from ..base import Gang, GangEvent, GangHandle, Phase, Rendezvous, ReplicaState
from ..local.logs import follow_lines, store_lines
from .api import Action, KubernetesApi
from .create import create_all, delete_object
from .manifests import PORTS, dns_label
from .manifests.meta import LABEL_MANAGED_BY, LABEL_REPLICA, LABEL_RUN, MANAGED_BY
from .manifests.per_index import INDEX_ANNOTATION
from .objects import ANNOTATION_GANG, ANNOTATION_GANG_ATTEMPT, build, gang_selector
from .podlogs import LogPump
from .record import GangRecord, JobInfo
from .settings import KubernetesSettings
from .watches import Watches, annotation

__all__ = ["KubernetesBackend"]

log = logging.getLogger("headrace.trainer.backends.kubernetes")


class KubernetesBackend:
    """Gangs as Kubernetes Jobs on the cluster ``k8s`` talks to (see the module docstring).
    ``store`` keeps the pods' logs, ``spool`` a copy of each while it is followed."""

    name = "kubernetes"

    def __init__(
        self,
        k8s: KubernetesApi,
        settings: KubernetesSettings,
        *,
        store: ArtifactStore,
        spool: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.k8s = k8s
        self.settings = settings
        self.store = store
        self.spool = spool
        self._clock = clock
        self.watches = Watches(k8s, settings, clock=clock, report=self._report)
        self._gangs: dict[str, GangRecord] = {}
        self._pumps: dict[tuple[str, str], LogPump] = {}

    # -- the interface --------------------------------------------------------------------

    async def rendezvous(self, gang_id: str, *, ports: int = 1) -> Rendezvous:
        """The headless Service of a training job ``<namespace>/<name>`` and its port; the
        pods' own environment comes from the job (`training_manifests`)."""
        namespace, _, name = gang_id.rpartition("/")
        where = self.settings.namespace_for(namespace)
        base = name if not self.settings.namespace else f"{namespace}-{name}"
        host = f"{dns_label(base, letter_first=True)}.{where}.svc"
        return Rendezvous(host, (PORTS["pytorch"][1],) * max(ports, 1))

    def refusal(self, gang: Gang) -> str | None:
        return None  # the cluster's scheduler decides; a pod that never fits is Unschedulable

    async def start(self, gang: Gang, *, runner: object | None = None) -> GangHandle:
        if gang.id in self._gangs and not self._gangs[gang.id].done.is_set():
            raise WorkloadError(f"gang '{gang.id}' already runs on Kubernetes: stop it first")
        built = build(gang, self.settings)
        await asyncio.to_thread(create_all, self.k8s, built)
        jobs = built.jobs()
        record = GangRecord(
            id=gang.id,
            attempt=gang.attempt,
            namespace=built.namespace,
            parent=built.parent,
            shared_parent=built.shared_parent,
            jobs=[JobInfo.of(job) for job in jobs],
            children=built.children,
            log_keys={r.name: r.log_key for r in gang.replicas if r.log_key},
        )
        self._forget(gang.id)
        self._gangs[gang.id] = record
        self.watches.follow(record, listing=None)
        return record.handle()

    async def events(self, gang_id: str) -> AsyncIterator[GangEvent]:
        record = self._record(gang_id)
        seen = 0
        while True:
            while seen < len(record.history):
                yield record.history[seen]
                seen += 1
            if record.done.is_set() or self._gangs.get(gang_id) is not record:
                return
            await record.changed.wait()

    async def logs(
        self, gang_id: str, role: str, index: int, *, follow: bool = False
    ) -> AsyncIterator[str]:
        record = self._record(gang_id)
        name = f"{role}-{index}"
        while follow and (gang_id, name) not in self._pumps and name not in record.exited:
            if self._gangs.get(gang_id) is not record:
                break
            await record.changed.wait()
        pump = self._pumps.get((gang_id, name))
        if pump is not None:
            following = pump
            async for line in follow_lines(
                following.path, lambda: following.finished, follow=follow
            ):
                yield line
            return
        key = record.log_keys.get(name)
        stored: bool = bool(key) and await asyncio.to_thread(_stored, self.store, key or "")
        if key and stored:
            async for line in store_lines(self.store, key):
                yield line

    def states(self, gang_id: str) -> tuple[ReplicaState, ...]:
        return self._record(gang_id).replica_states()

    async def wait(self, gang_id: str) -> tuple[ReplicaState, ...]:
        record = self._record(gang_id)
        await record.done.wait()
        pumps = [p.task for (g, _), p in self._pumps.items() if g == gang_id]
        if pumps:
            await asyncio.wait(pumps, timeout=self.settings.watch_seconds)
        return record.replica_states()

    def stop(self, gang_id: str, *, grace: float = 10.0) -> Awaitable[tuple[ReplicaState, ...]]:
        record = self._record(gang_id)
        record.stopping = True
        return asyncio.ensure_future(self._stop(record, grace))

    async def adopt(self, gang_id: str, *, records: Path | None = None) -> GangHandle | None:
        known = self._gangs.get(gang_id)
        if known is not None:
            return known.handle()
        namespace = self._namespace_of(gang_id)
        selector = gang_selector(gang_id)
        jobs = await self.watches.call(
            Action("list", "jobs", namespace, "batch"),
            self.k8s.batch.list_namespaced_job,
            namespace,
            label_selector=selector,
        )
        items = [j for j in jobs.get("items") or [] if annotation(j, ANNOTATION_GANG) == gang_id]
        if not items:
            return None
        attempt = max(int(annotation(j, ANNOTATION_GANG_ATTEMPT) or 1) for j in items)
        items = [j for j in items if int(annotation(j, ANNOTATION_GANG_ATTEMPT) or 1) == attempt]
        owner = ((items[0]["metadata"].get("ownerReferences") or [{}])[0]).get("name") or ""
        labels = items[0]["metadata"].get("labels") or {}
        record = GangRecord(
            id=gang_id,
            attempt=attempt,
            namespace=namespace,
            parent={
                "kind": "ConfigMap",
                "apiVersion": "v1",
                "metadata": {"name": owner, "labels": _parent_labels(labels)},
            },
            shared_parent=LABEL_RUN in labels,
            jobs=[JobInfo.of(job) for job in items],
            children=[_stub(job) for job in items] + self._step_configs(items),
            log_keys=GangRecord.log_keys_of(items),
            adopted=True,
        )
        pods = await self.watches.list_pods(record)
        self._gangs[gang_id] = record
        self.watches.follow(record, listing=pods)
        return record.handle()

    def recorded(self) -> list[str]:
        return sorted(self._gangs)

    async def remove(self, gang_id: str) -> None:
        record = self._gangs.get(gang_id)
        if record is None:
            record_or_none = await self.adopt(gang_id)
            if record_or_none is None:
                return
            record = self._gangs[gang_id]
        self._forget(gang_id)
        if record.shared_parent:
            for child in record.children:
                await asyncio.to_thread(delete_object, self.k8s, child, record.namespace)
            await asyncio.to_thread(self._remove_run_parent, record)
        else:
            await asyncio.to_thread(delete_object, self.k8s, record.parent, record.namespace)

    async def close(self) -> None:
        for gang_id in list(self._gangs):
            self._forget(gang_id)
        self.k8s.close()

    # -- following a gang -----------------------------------------------------------------

    def _forget(self, gang_id: str) -> None:
        record = self._gangs.pop(gang_id, None)
        if record is None:
            return
        record.changed.set()
        for task in record.tasks:
            task.cancel()
        for key in [k for k in self._pumps if k[0] == gang_id]:
            self._pumps.pop(key).cancel()

    def _report(
        self, record: GangRecord, events: list[GangEvent], seen: dict[str, Any] | None = None
    ) -> None:
        """Note the pod names in ``seen`` (a watch event or a list), keep ``events``, and
        follow the log of each replica that started."""
        objects: list[Any] = []
        if seen is not None:
            objects = list(seen.get("items") or []) or [seen.get("object") or {}]
        for obj in objects:
            meta = (obj or {}).get("metadata") or {}
            notes = meta.get("annotations") or {}
            if notes.get(ANNOTATION_GANG) != record.id:
                continue
            if notes.get(ANNOTATION_GANG_ATTEMPT) != str(record.attempt):
                continue
            role = (meta.get("labels") or {}).get(LABEL_REPLICA) or "step"
            record.pods[f"{role}-{notes.get(INDEX_ANNOTATION) or 0}"] = str(meta.get("name"))
        for event in record.report(events):
            replica = event.replica
            ran = event.kind == "started" or (
                replica.phase is not Phase.PENDING
                and (event.kind == "adopted" or replica.exit_code is not None)
            )
            if ran:
                self._pump(record, replica.name)

    def _pump(self, record: GangRecord, name: str) -> None:
        if (record.id, name) in self._pumps or name not in record.pods:
            return
        key = record.log_keys.get(name, "")
        role = name.rpartition("-")[0]
        pump = LogPump(
            self.k8s,
            record.namespace,
            record.pods[name],
            record.container_of(role),
            path=self.spool / _safe(record.id) / f"attempt-{record.attempt}" / f"{name}.log",
            store=self.store,
            key=key,
            every=self.settings.log_upload_seconds,
        )
        self._pumps[(record.id, name)] = pump
        pump.start()

    # -- stop and removal ------------------------------------------------------------------

    async def _stop(self, record: GangRecord, grace: float) -> tuple[ReplicaState, ...]:
        if not record.done.is_set():
            seconds = max(0, round(grace))
            for child in record.children:
                if child.get("kind") == "Job":
                    await asyncio.to_thread(
                        delete_object,
                        self.k8s,
                        child,
                        record.namespace,
                        propagation="Foreground",
                        grace=seconds,
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(record.jobs_gone.wait(), grace + self.settings.watch_seconds)
            record.end_all("stopped: its Job was deleted")
        return record.replica_states()

    def _remove_run_parent(self, record: GangRecord) -> None:
        """Delete a pipeline run's parent once none of its steps' Jobs is left."""
        labels = (record.parent.get("metadata") or {}).get("labels") or {}
        run = labels.get(LABEL_RUN)
        if not run:
            return
        try:
            left = self.k8s.batch.list_namespaced_job(
                record.namespace,
                label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_RUN}={run}",
            )
        except (ApiException, HTTPError) as error:
            log.warning("could not list the Jobs of run %s: %s", run, error)
            return
        if not left.items:
            delete_object(self.k8s, record.parent, record.namespace)

    # -- helpers ---------------------------------------------------------------------------

    def _record(self, gang_id: str) -> GangRecord:
        record = self._gangs.get(gang_id)
        if record is None:
            raise UnknownGang(f"gang '{gang_id}' was not started or adopted by this backend")
        return record

    def _namespace_of(self, gang_id: str) -> str:
        if gang_id.startswith("step/"):
            return self.settings.namespace_for("default")
        namespace, _, _ = gang_id.rpartition("/")
        return self.settings.namespace_for(namespace)

    @staticmethod
    def _step_configs(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A step Job's ConfigMap has the Job's name (see `step_manifests`)."""
        return [
            {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": job["metadata"]["name"]}}
            for job in jobs
            if LABEL_RUN in (job["metadata"].get("labels") or {})
        ]


def _parent_labels(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k in (LABEL_MANAGED_BY, LABEL_RUN)}


def _stub(job: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": job["metadata"]["name"]}}


def _safe(gang_id: str) -> str:
    return str(safe_segment(gang_id))


def _stored(store: ArtifactStore, key: str) -> bool:
    return bool(store.exists(key))
