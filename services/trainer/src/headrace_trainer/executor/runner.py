"""Starting a step's process: what to run (`Launch`) and who runs it (`Runner`).

Every step runs in its own process and process group (so cancel and timeout reach its
children), in its workdir, with stdout and stderr both appended to the step log. A
lightweight Python component runs kfp's executor on its source in this environment
(``_KFP_RUNTIME=true``); anything else runs its resolved command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import StepError

__all__ = [
    "COMPONENT_FILE",
    "Launch",
    "PythonCall",
    "Runner",
    "Running",
    "SubprocessRunner",
    "describe_exit",
    "python_argv",
]

COMPONENT_FILE = "ephemeral_component.py"


@dataclass(frozen=True)
class PythonCall:
    """kfp's executor on a component's source: ``executor_main --component_module_path
    <cwd>/ephemeral_component.py *args``."""

    source: str
    args: list[str]


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    cwd: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    python: PythonCall | None = None


class Running(Protocol):
    """A started step process."""

    @property
    def pid(self) -> int: ...

    async def wait(self) -> int:
        """The exit code; ``-N`` when signal N killed it."""
        ...


class Runner(Protocol):
    async def start(self, launch: Launch) -> Running: ...


def python_argv(launch: Launch) -> list[str]:
    """The plain-subprocess command line of a Python call (writes its source file)."""
    assert launch.python is not None
    module = launch.cwd / COMPONENT_FILE
    module.write_text(launch.python.source, encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "kfp.dsl.executor_main",
        "--component_module_path",
        str(module),
        *launch.python.args,
    ]


class _Process:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    async def wait(self) -> int:
        return await self._process.wait()


class SubprocessRunner:
    """Each step as a fresh ``subprocess`` (the pod's runner, and the fork server's
    fallback)."""

    async def start(self, launch: Launch) -> Running:
        argv = python_argv(launch) if launch.python is not None else launch.argv
        env = {**os.environ, **launch.env}
        if launch.python is not None:
            env["_KFP_RUNTIME"] = "true"
        with launch.log_path.open("ab") as log:
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    cwd=launch.cwd,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
            except FileNotFoundError as error:
                raise _not_found(argv[0]) from error
            except PermissionError as error:
                raise _not_found(argv[0], "is not executable") from error
        return _Process(process)


def _not_found(program: str, what: str = "was not found") -> StepError:
    return StepError(
        f"runs command '{program}', which {what} on this machine: install it, put it on PATH, "
        "or run the step on the Kubernetes backend"
    )


def describe_exit(code: int) -> str:
    """``exited with code 3`` or ``was killed by signal SIGKILL``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by signal {name}"
    return f"exited with code {code}"
