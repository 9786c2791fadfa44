"""Following one InferenceService's Deployments or pods: list, then watch from the list's
resourceVersion, renewing each watch call from the last resourceVersion seen. A 410 Gone (an
``ERROR`` event, or the HTTP status) lists again and goes on from that list. Every object
seen goes to ``seen(name, obj)`` (None: deleted); a list reports what it holds and, as
deleted, what is no longer in it, so nothing missed while the watch was down is lost, and
the receiver (`KubeRevision`) ignores what did not change. ``tick()`` is called every
``tick`` seconds without an event (pods that wait for a node). Blocking reads run in a
thread (`streams.Lines`).
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

from .api import KubeApi, KubeCallError
from .kinds import list_objects, methods

__all__ = ["Follow"]

log = logging.getLogger("headrace.serving.kubernetes")
RETRY_SECONDS = 1.0

Seen = Callable[[str, "dict[str, Any] | None"], None]


class Follow:
    def __init__(
        self,
        k8s: KubeApi,
        kind: str,
        namespace: str,
        selector: str,
        *,
        seen: Seen,
        tick: Callable[[], None] | None = None,
        tick_seconds: float = 5.0,
        watch_seconds: int = 240,
    ) -> None:
        self.k8s = k8s
        self.kind = kind
        self.namespace = namespace
        self.selector = selector
        self.seen = seen
        self.tick = tick
        self.tick_seconds = tick_seconds
        self.watch_seconds = watch_seconds
        self.known: dict[str, dict[str, Any]] = {}
        self.version = ""
        self.relists = 0

    async def relist(self) -> None:
        """List (`KubeCallError` when refused) and report the differences."""
        listing = await list_objects(self.k8s, self.kind, self.namespace, self.selector)
        self.version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
        items = {str(o["metadata"]["name"]): o for o in listing.get("items") or []}
        for name in set(self.known) - set(items):
            del self.known[name]
            self.seen(name, None)
        for name, obj in items.items():
            self.known[name] = obj
            self.seen(name, obj)

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            if not self.version:
                try:
                    await self.relist()
                except KubeCallError as error:
                    log.warning("%s: %s; listing again", self.kind, error)
                    await asyncio.sleep(RETRY_SECONDS)  # the API server refused: retry later
                continue
            await self._watch()

    async def _watch(self) -> None:
        call = methods(self.k8s, self.kind, "list")
        version = self.version
        lines = Lines(
            lambda: call(
                self.namespace,
                label_selector=self.selector,
                watch=True,
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=self.watch_seconds,
                _preload_content=False,
            ),
            name=f"watch-{self.kind}-{self.namespace}",
        ).start()
        try:
            while True:
                try:
                    line = await asyncio.wait_for(lines.get(), self.tick_seconds)
                except TimeoutError:
                    if self.tick is not None:
                        self.tick()
                    continue
                if line is None:
                    return  # the watch call's time is up: watch again from self.version
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    self.relists += 1
                    log.info("%s watch: %s; listing again", self.kind, obj.get("message"))
                    self.version = ""
                    return
                meta = obj.get("metadata") or {}
                self.version = str(meta.get("resourceVersion") or self.version)
                if event.get("type") == "BOOKMARK":
                    continue
                name = str(meta.get("name") or "")
                if event.get("type") == "DELETED":
                    self.known.pop(name, None)
                    self.seen(name, None)
                else:
                    self.known[name] = obj
                    self.seen(name, obj)
        except (ApiException, HTTPError, OSError, ValueError) as error:
            if isinstance(error, ApiException) and error.status == 410:
                self.relists += 1
            else:
                log.warning("%s watch broke (%s); listing again", self.kind, error)
            self.version = ""
        finally:
            lines.close()
