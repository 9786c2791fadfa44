"""Starting a step's process: what to run (`Launch`) and who runs it (`Runner`).

Every step runs in its own process and process group (so cancel and timeout reach its
children), in its workdir, with stdout and stderr both appended to the step log. A
lightweight Python component runs kfp's executor on its source in this environment
(``_KFP_RUNTIME=true``); anything else runs its resolved command.

A launch with `Records` leaves them for a trainer that adopts the step later (see
`headrace_trainer.forkserver.records`): the process claims its process record before the
user's code runs, and its parent writes the exit record before reaping it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
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
    "Records",
    "Runner",
    "Running",
    "SubprocessRunner",
    "describe_exit",
    "python_argv",
    "resolve_program",
]

COMPONENT_FILE = "ephemeral_component.py"


@dataclass(frozen=True)
class PythonCall:
    """kfp's executor on a component's source: ``executor_main --component_module_path
    <cwd>/ephemeral_component.py *args``."""

    source: str
    args: list[str]


@dataclass(frozen=True)
class Records:
    """Where the process leaves its process and exit records."""

    process: Path
    exit: Path


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    cwd: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    python: PythonCall | None = None
    records: Records | None = None


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
    fallback); a launch with records runs through the fork server's shim."""

    async def start(self, launch: Launch) -> Running:
        argv = python_argv(launch) if launch.python is not None else launch.argv
        env = {**os.environ, **launch.env}
        if launch.python is not None:
            env["_KFP_RUNTIME"] = "true"
        if launch.records is not None:
            program = resolve_program(argv[0], env, launch.cwd)
            argv = [
                sys.executable,
                "-m",
                "headrace_trainer.forkserver.shim",
                str(launch.records.process),
                str(launch.records.exit),
                program,
                *argv[1:],
            ]
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


def resolve_program(program: str, env: dict[str, str], cwd: Path) -> str:
    """The program ``exec`` runs for ``program`` in ``cwd`` with ``env``'s PATH."""
    if os.sep in program:
        path = cwd / program
        if not path.exists():
            raise _not_found(program)
        if not os.access(path, os.X_OK) or path.is_dir():
            raise _not_found(program, "is not executable")
        return program
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise _not_found(program)
    return found


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
