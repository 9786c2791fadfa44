"""A pod's log, followed from its start into a spool file and the artifact store.

`LogPump` reads ``GET pods/<pod>/log?follow=true`` (in a thread, `streams.Lines`) into a
local file, copies that file to the store under the replica's ``log_key`` each ``every``
seconds it has grown (`upload_while`, as the local backend does) and once more when the
log ended, so the log is readable while the pod runs and after it is gone. A pump started
again (after a restart) reads the log from its start, so nothing is lost or doubled.
A container still starting answers 400: the pump asks again until the log opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from headrace_artifacts import ArtifactStore
from headrace_kube import Lines

from ..local.logs import upload, upload_while
from .api import KubernetesApi

__all__ = ["LogPump"]

log = logging.getLogger("headrace.trainer.backends.kubernetes")
RETRIES = 30
RETRY_SECONDS = 1.0


class LogPump:
    def __init__(
        self,
        k8s: KubernetesApi,
        namespace: str,
        pod: str,
        container: str,
        *,
        path: Path,
        store: ArtifactStore,
        key: str,
        every: float,
    ) -> None:
        self.k8s = k8s
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.path = path
        self.store = store
        self.key = key
        self.every = every
        self.finished = False
        self.task: asyncio.Task[None] = None  # type: ignore[assignment]
        self._lines: Lines | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"k8s-log-{self.pod}")

    def cancel(self) -> None:
        if self._lines is not None:
            self._lines.close()
        self.task.cancel()

    async def _run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")
        uploader = (
            asyncio.create_task(upload_while(self.store, self.path, self.key, self.every))
            if self.key
            else None
        )
        try:
            for _ in range(RETRIES):
                if await self._follow():
                    break
                await asyncio.sleep(RETRY_SECONDS)
        finally:
            self.finished = True
            if uploader is not None:
                uploader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await uploader
                await upload(self.store, self.path, self.key, sync=False)

    async def _follow(self) -> bool:
        """Read the log to its end; False when it cannot be opened yet (ask again)."""
        self._lines = Lines(
            lambda: self.k8s.core.read_namespaced_pod_log(
                self.pod,
                self.namespace,
                container=self.container or None,
                follow=True,
                _preload_content=False,
            ),
            name=f"log-{self.pod}",
        ).start()
        try:
            with self.path.open("ab") as file:
                while (line := await self._lines.get()) is not None:
                    file.write(line.encode("utf-8") + b"\n")
                    file.flush()
            return True
        except ApiException as error:
            if error.status == 400:  # the container is still being created
                return False
            if error.status != 404:  # 404: the pod is gone, with its log
                log.warning("the log of pod %s could not be read: %s", self.pod, error.reason)
            return True
        except (HTTPError, OSError) as error:
            log.warning("the log of pod %s broke off: %s", self.pod, error)
            return True
        finally:
            self._lines.close()
