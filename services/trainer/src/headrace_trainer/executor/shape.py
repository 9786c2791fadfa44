"""Recognising a lightweight Python component in a compiled container spec (pure).

``@dsl.component`` compiles to::

    command: [sh, -c, <pip install script>, sh, -ec, <script that runs
              "python3 -m kfp.dsl.executor_main --component_module_path ...">, <source>]
    args:    [--executor_input, {{$}}, --function_to_execute, NAME]

(``install_kfp_package=False`` drops the first three elements). The launcher never runs the
pip part: it runs kfp's executor on the component source in the platform's environment.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PythonComponent", "detect_python_component"]

EXECUTOR_MODULE = "kfp.dsl.executor_main"
_SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash")


@dataclass(frozen=True)
class PythonComponent:
    """The parts of a lightweight Python component the launcher needs."""

    source: str
    function: str
    args: list[str]
    packages: list[str] = field(default_factory=list)


def detect_python_component(container: Mapping[str, Any]) -> PythonComponent | None:
    """The lightweight component in ``container``, or None for any other command."""
    command = container.get("command") or []
    args = [str(arg) for arg in container.get("args") or []]
    if not all(isinstance(part, str) for part in command):
        return None
    runner = _runner_index(command)
    if runner is None:
        return None
    prefix = command[:runner]
    if prefix and not _is_pip_prefix(prefix):
        return None
    function = _function(args)
    if function is None:
        return None
    return PythonComponent(
        source=command[runner + 3],
        function=function,
        args=args,
        packages=_packages(prefix[2]) if prefix else [],
    )


def _runner_index(command: Sequence[str]) -> int | None:
    """Index of ``sh -ec <script running executor_main>`` followed by the source, last."""
    start = len(command) - 4
    if start < 0:
        return None
    shell, flag, script = command[start], command[start + 1], command[start + 2]
    if shell not in _SHELLS or flag not in ("-ec", "-c", "-e"):
        return None
    if EXECUTOR_MODULE not in script or "--component_module_path" not in script:
        return None
    return start


def _is_pip_prefix(prefix: Sequence[str]) -> bool:
    return (
        len(prefix) == 3
        and prefix[0] in _SHELLS
        and prefix[1] in ("-c", "-ec")
        and "pip" in prefix[2]
        and "install" in prefix[2]
    )


def _function(args: Sequence[str]) -> str | None:
    for index, arg in enumerate(args[:-1]):
        if arg == "--function_to_execute":
            return args[index + 1]
    for arg in args:
        if arg.startswith("--function_to_execute="):
            return arg.split("=", 1)[1]
    return None


def _packages(script: str) -> list[str]:
    """The packages a pip prefix would install, besides kfp itself (for error hints)."""
    found: list[str] = []
    for line in script.splitlines():
        if "pip install" not in line:
            continue
        try:
            words = shlex.split(line.split("&&")[0])
        except ValueError:
            continue
        after = words[words.index("install") + 1 :] if "install" in words else []
        for word in after:
            if word.startswith("-") or ";" in word or word.startswith("kfp"):
                continue
            found.append(word)
    return found
