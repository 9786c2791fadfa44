"""The trainer's side of the fork server, and a `Runner` that uses it with a fallback.

`ForkServer` starts ``python -m headrace_trainer.forkserver`` (in a session of its own, so
that it outlives a signal to the trainer's process group and goes on recording its
children's exits after the trainer died), sends it one request per step and resolves each
step's pid and exit code from its replies. `ForkServerRunner` runs steps through it and
while the server is down through a plain `SubprocessRunner`; a dead server is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
from typing import Any

from ..errors import ForkServerDied, StepError
from ..executor.runner import Launch, Runner, Running, SubprocessRunner, resolve_program

__all__ = ["ForkServer", "ForkServerRunner"]

log = logging.getLogger("headrace.trainer.forkserver")
START_TIMEOUT = 60.0


class _Forked:
    def __init__(self, pid: int, exit_code: asyncio.Future[int]) -> None:
        self._pid = pid
        self._exit = exit_code

    @property
    def pid(self) -> int:
        return self._pid

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)


class ForkServer:
    """One running fork server process (of ``python``: the trainer's own by default, or a
    step environment's)."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._started: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._alive = False

    @property
    def alive(self) -> bool:
        return self._alive

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "headrace_trainer.forkserver",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 20,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT)
        except TimeoutError:
            line = b""
        if not line or not json.loads(line).get("ready"):
            await self.stop()
            raise ForkServerDied(
                "the trainer's fork server did not start: check that kfp imports in the "
                f"trainer's Python environment ({self.python} -c 'import kfp.dsl')"
            )
        self._alive = True
        self._reader = asyncio.create_task(self._read(), name="forkserver-reader")

    async def spawn(self, launch: Launch) -> Running:
        """Fork a child for a step; its pid is known when this returns."""
        if not self._alive or self._process is None or self._process.stdin is None:
            raise ForkServerDied("the fork server is not running")
        request = _request(launch)
        request_id = next(self._ids)
        loop = asyncio.get_running_loop()
        started: asyncio.Future[int] = loop.create_future()
        exited: asyncio.Future[int] = loop.create_future()
        self._started[request_id] = started
        self._exits[request_id] = exited
        request["id"] = request_id
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            await self._process.stdin.drain()
            pid = await started
        except (ConnectionError, BrokenPipeError) as error:
            self._forget(request_id)
            raise ForkServerDied(f"the fork server stopped: {error}") from error
        return _Forked(pid, exited)

    async def stop(self) -> None:
        self._alive = False
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._fail_all("the fork server was stopped")

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        stdout = self._process.stdout
        while True:
            line = await stdout.readline()
            if not line:
                break
            self._dispatch(json.loads(line))
        if self._alive:
            log.warning("the fork server (pid %s) stopped unexpectedly", self.pid)
        self._alive = False
        self._fail_all(
            "the fork server stopped while the step ran, so its result is unknown: run it again"
        )

    def _dispatch(self, reply: dict[str, Any]) -> None:
        request_id = reply.get("id")
        if not isinstance(request_id, int):
            return
        if "pid" in reply:
            _settle(self._started.pop(request_id, None), int(reply["pid"]))
        elif "exit" in reply:
            _settle(self._exits.pop(request_id, None), int(reply["exit"]))
        elif "error" in reply:
            error = StepError(f"could not be started by the fork server: {reply['error']}")
            for futures in (self._started, self._exits):
                future = futures.pop(request_id, None)
                if future is not None and not future.done():
                    future.set_exception(error)
                    if futures is self._exits:
                        future.exception()  # nobody awaits it now: mark it retrieved

    def _forget(self, request_id: int) -> None:
        self._started.pop(request_id, None)
        self._exits.pop(request_id, None)

    def _fail_all(self, message: str) -> None:
        for futures in (self._started, self._exits):
            for future in futures.values():
                if not future.done():
                    future.set_exception(ForkServerDied(message))
                    future.exception()
            futures.clear()


def _request(launch: Launch) -> dict[str, Any]:
    request: dict[str, Any] = {
        "cwd": str(launch.cwd),
        "log": str(launch.log_path),
        "env": launch.env,
    }
    if launch.python is not None:
        request["source"] = launch.python.source
        request["args"] = launch.python.args
    else:
        program = resolve_program(launch.argv[0], {**os.environ, **launch.env}, launch.cwd)
        request["argv"] = [program, *launch.argv[1:]]
    if launch.records is not None:
        request["process_record"] = str(launch.records.process)
        request["exit_record"] = str(launch.records.exit)
    return request


def _settle(future: asyncio.Future[int] | None, value: int) -> None:
    if future is not None and not future.done():
        future.set_result(value)


class ForkServerRunner:
    """Steps through the fork server; as subprocesses while it is down."""

    def __init__(
        self,
        fallback: Runner | None = None,
        *,
        restart_delay: float = 1.0,
        python: str | None = None,
    ) -> None:
        self.python = python
        self.fallback = fallback or SubprocessRunner()
        self.server: ForkServer | None = None
        self._restart_delay = restart_delay
        self._restarting: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self, launch: Launch) -> Running:
        server = self.server
        if server is not None and server.alive:
            try:
                return await server.spawn(launch)
            except ForkServerDied:
                log.warning("fork server unavailable; running this step as a subprocess")
        self._schedule_restart()
        return await self.fallback.start(launch)

    async def open(self) -> None:
        """Start the fork server (the trainer's on_start)."""
        self._stopped = False
        server = ForkServer(self.python)
        await server.start()
        self.server = server

    async def close(self) -> None:
        """Stop the fork server (the trainer's on_stop)."""
        self._stopped = True
        if self._restarting is not None:
            self._restarting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restarting
        if self.server is not None:
            await self.server.stop()
            self.server = None

    def _schedule_restart(self) -> None:
        if self._stopped or (self._restarting is not None and not self._restarting.done()):
            return
        if self.server is not None and self.server.alive:
            return
        self._restarting = asyncio.create_task(self._restart(), name="forkserver-restart")

    async def _restart(self) -> None:
        await asyncio.sleep(self._restart_delay)
        if self.server is not None:
            await self.server.stop()
            self.server = None
        try:
            await self.open()
            log.info("fork server restarted (pid %s)", self.server.pid if self.server else None)
        except ForkServerDied as error:
            log.warning("%s; steps run as subprocesses until it starts", error)
