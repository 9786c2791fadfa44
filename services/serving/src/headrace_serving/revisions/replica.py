"""One replica of a revision: a model-server process, its readiness, its connections.

A replica starts, polls the server's readiness (``GET /v2/health/ready`` every 50 ms) until
the model is loaded, has failed to load (the server answers why), the process has exited
(the reason is the last error line of its log) or the load timeout has passed. Once ready it
takes requests until it drains (no new requests; it stops when the last one has finished).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Literal

from ..dataplane import RevisionPlan
from ..router.upstream import UpstreamPool
from .process import free_port, last_error, probe_ready, server_command, spawn, terminate

__all__ = ["Replica", "ReplicaState"]

log = logging.getLogger("headrace.serving.replicas")

ReplicaState = Literal["starting", "ready", "draining", "stopped"]
PROBE_INTERVAL = 0.05
PORT_ATTEMPTS = 3


class Replica:
    def __init__(self, revision: str, index: int, host: str, log_path: Path) -> None:
        self.revision = revision
        self.index = index
        self.host = host
        self.log_path = log_path
        self.port = 0
        self.state: ReplicaState = "starting"
        self.in_flight = 0
        self.process: asyncio.subprocess.Process | None = None
        self.pool = UpstreamPool(host, 0)
        self.stopped = asyncio.Event()
        self._stopping: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<replica {self.revision}-{self.index} {self.state} :{self.port}>"

    async def start(self, plan: RevisionPlan, load_timeout: float) -> str | None:
        """Start the server and wait until its model serves: None, or why it cannot."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + load_timeout
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port(self.host)
            self.pool = UpstreamPool(self.host, self.port)
            since = self.log_path.stat().st_size if self.log_path.exists() else 0
            self.process = await spawn(
                server_command(plan, self.host, self.port), plan.env, self.log_path
            )
            if self.state == "stopped":  # stopped while the process was being started
                await terminate(self.process)
                return "stopped while starting"
            log.info("replica %s-%d starting on %s:%d", self.revision, self.index, self.host,
                     self.port)  # fmt: skip
            reason = await self._wait_ready(deadline, load_timeout)
            if reason is None or self.process.returncode is None:
                return reason
            error = last_error(self.log_path, since)
            if "address already in use" not in error.lower():
                return error or f"the model server {reason} (its log: {self.log_path})"
            await terminate(self.process)  # another process took the port: try another
        return f"no free port for a model server on {self.host} after {PORT_ATTEMPTS} attempts"

    async def _wait_ready(self, deadline: float, load_timeout: float) -> str | None:
        process = self.process
        assert process is not None
        loop = asyncio.get_running_loop()
        while True:
            if self.state == "stopped":
                return "stopped while starting"
            if process.returncode is not None:
                return f"exited with status {process.returncode}"
            answer = await probe_ready(self.host, self.port)
            if answer is not None and answer.ready:
                return None
            if answer is not None and answer.failed:
                return answer.error
            if loop.time() > deadline:
                return (
                    f"the model server did not become ready in {load_timeout:g} s "
                    f"(its log: {self.log_path})"
                )
            await asyncio.sleep(PROBE_INTERVAL)  # the probe of a child process's readiness

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # requests --------------------------------------------------------------------------

    def drain(self) -> None:
        """No new requests; stop once the ones in flight have finished."""
        if self.state in ("draining", "stopped"):
            return
        self.state = "draining"
        if self.in_flight == 0:
            self.stop_soon()

    def stop_soon(self) -> None:
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self.stop())

    async def stop(self, grace: float = 10.0) -> None:
        self.state = "stopped"
        self.pool.close()
        if self.process is not None:
            await terminate(self.process, grace)
            log.info("replica %s-%d stopped", self.revision, self.index)
        self.stopped.set()
