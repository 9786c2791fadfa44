"""Running a lightweight step in a step environment: its own warm fork server, falling
back to a plain subprocess of the environment's Python."""

from __future__ import annotations

from dataclasses import replace

from ..executor.runner import Launch, Runner, Running, SubprocessRunner, python_argv
from ..forkserver.client import ForkServerRunner

__all__ = ["EnvironmentSubprocessRunner", "environment_runner"]


class EnvironmentSubprocessRunner:
    """Each lightweight step as ``<environment>/bin/python -m kfp.dsl.executor_main ...``."""

    def __init__(self, python: str, fallback: Runner | None = None) -> None:
        self.python = python
        self._subprocess = fallback or SubprocessRunner()

    async def start(self, launch: Launch) -> Running:
        if launch.python is None:
            return await self._subprocess.start(launch)
        argv = [self.python, *python_argv(launch)[1:]]
        env = {**launch.env, "_KFP_RUNTIME": "true"}
        return await self._subprocess.start(replace(launch, argv=argv, env=env, python=None))


def environment_runner(
    python: str, *, fork_server: bool
) -> EnvironmentSubprocessRunner | ForkServerRunner:
    """The runner of one environment (its fork server is started by the caller)."""
    plain = EnvironmentSubprocessRunner(python)
    if not fork_server:
        return plain
    return ForkServerRunner(plain, python=python)
