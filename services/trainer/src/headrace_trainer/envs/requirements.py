"""What a lightweight component asks to have installed, read from its compiled command (pure).

kfp 2.16 compiles ``@dsl.component(packages_to_install=[...], pip_index_urls=[...])`` to a
``sh -c`` prefix whose script holds one ``pip install`` for the user's packages and, unless
``install_kfp_package=False`` (or a ``kfp*`` package is among the user's), a second one for
kfp itself::

    python3 -m pip install --quiet --no-warn-script-location --index-url URL0
        --extra-index-url URL1 --trusted-host URL0 --trusted-host URL1 'pkg-a' 'pkg-b>=2'
        && python3 -m pip install ... 'kfp==2.16.1' '--no-deps' 'typing-extensions...'

The user's packages and index URLs become `StepRequirements`; kfp's own install is dropped
(the platform's kfp runs the executor), and so is a user package named ``kfp``.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from ..executor.shape import detect_python_component

__all__ = ["StepRequirements", "environment_digest", "parse_pip_script", "requirements_of"]

_VALUE_OPTIONS = {"--index-url", "-i", "--extra-index-url", "--trusted-host", "--find-links", "-f"}
_PLATFORM_PACKAGES = {"kfp"}


@dataclass(frozen=True)
class StepRequirements:
    """The packages a step needs beyond the platform's environment, and where they come from."""

    packages: tuple[str, ...]
    index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()


def requirements_of(container: Mapping[str, Any]) -> StepRequirements | None:
    """The packages the lightweight component in ``container`` asks for; None when it asks
    for none (or is no lightweight component): it runs in the platform's environment."""
    component = detect_python_component(container)
    if component is None:
        return None
    command = container.get("command") or []
    script = command[2] if len(command) > 6 and isinstance(command[2], str) else ""
    return parse_pip_script(script)


def parse_pip_script(script: str) -> StepRequirements | None:
    """The user's ``pip install`` in kfp's install script; None when it installs only kfp."""
    packages: list[str] = []
    index_urls: list[str] = []
    find_links: list[str] = []
    for command in _pip_installs(script):
        parts, options = _split_install(command)
        if _installs_only_kfp(parts):
            continue
        packages.extend(part for part in parts if _name(part) not in _PLATFORM_PACKAGES)
        for option, value in options:
            target = find_links if option in ("--find-links", "-f") else index_urls
            if option != "--trusted-host" and value not in target:
                target.append(value)
    if not packages:
        return None
    return StepRequirements(tuple(packages), tuple(index_urls), tuple(find_links))


def environment_digest(
    requirements: StepRequirements,
    *,
    python: str,
    base: str,
    find_links: Sequence[str] = (),
    index_url: str = "",
) -> str:
    """The cache key of an environment: the sorted package set, the index URLs (in order:
    the first is the main index), the find-links, the trainer's default index, the Python
    version and the platform environment it is layered over."""
    key = {
        "packages": sorted(set(requirements.packages)),
        "index_urls": list(requirements.index_urls),
        "find_links": sorted({*requirements.find_links, *find_links}),
        "index_url": index_url,
        "python": python,
        "base": base,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def _pip_installs(script: str) -> list[str]:
    found: list[str] = []
    for line in script.splitlines():
        for command in line.split("&&"):
            if "pip install" in command:
                found.append(command.split("pip install", 1)[1])
    return found


def _split_install(command: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The package arguments and the (option, value) pairs of one ``pip install``."""
    try:
        words = shlex.split(command)
    except ValueError:
        return [], []
    parts: list[str] = []
    options: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        name, equals, value = word.partition("=")
        if name in _VALUE_OPTIONS:
            if equals:
                options.append((name, value))
            elif index + 1 < len(words):
                options.append((name, words[index + 1]))
                index += 1
        elif not word.startswith("-"):
            parts.append(word)
        index += 1
    return parts, options


def _installs_only_kfp(parts: Sequence[str]) -> bool:
    """kfp's own install: ``kfp==V`` (or a kfp path/URL) and its typing-extensions pin."""
    if not parts:
        return True
    rest = [part for part in parts if not part.startswith("typing-extensions")]
    if len(rest) != 1:
        return False
    part = rest[0]
    local = "/" in part or part.endswith((".whl", ".tar.gz", ".zip"))
    return _name(part) == "kfp" or (local and "kfp" in part)


def _name(part: str) -> str:
    try:
        return Requirement(part).name.lower()
    except InvalidRequirement:
        return ""
