"""A Headrace service as a real process of its own, for tests that kill it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from headrace_runtime import Settings

__all__ = ["BlockingServiceProcess", "ServiceProcess"]


class ServiceProcess:
    """``script`` (a console entrypoint beside this Python, e.g. ``headrace-trainer``) run
    with ``settings`` as ``HEADRACE_*`` variables plus ``env``, in a process group of its
    own, writing its output to ``log``."""

    def __init__(self, script: str, settings: Settings, log: Path, **env: str) -> None:
        self.script = script
        self.settings = settings
        self.log = log
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() it first"
        return self.process.pid

    async def start(self) -> None:
        variables = {
            f"HEADRACE_{name.upper()}": str(value)
            for name, value in self.settings.model_dump().items()
            if value is not None
        }
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / self.script),
                env={**os.environ, **variables, **self.env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )

    async def kill(self) -> None:
        """``kill -9`` of the service process alone (not of what it started)."""
        assert self.process is not None, "start() it first"
        self.process.kill()
        await self.process.wait()

    async def stop(self, grace: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL its process group after ``grace`` seconds."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


class BlockingServiceProcess:
    """`ServiceProcess` for synchronous tests (those driving the platform through the
    blocking `headrace.Client` or the CLI): the same environment, a plain `Popen`."""

    def __init__(self, script: str, settings: Settings, log: Path, **env: str) -> None:
        self.script = script
        self.settings = settings
        self.log = log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() it first"
        return self.process.pid

    def start(self) -> None:
        variables = {
            f"HEADRACE_{name.upper()}": str(value)
            for name, value in self.settings.model_dump().items()
            if value is not None
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / self.script)],
                env={**os.environ, **variables, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """``kill -9`` of the service process alone (not of what it started)."""
        assert self.process is not None, "start() it first"
        self.process.kill()
        self.process.wait()

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL its process group after ``grace`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
