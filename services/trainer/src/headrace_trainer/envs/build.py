"""Building one step environment with uv, layered over the platform's environment.

``uv venv --python <platform python>`` makes a bare environment; a ``.pth`` file in it adds
the platform's site-packages *after* its own (``site.addsitedir``, so the platform's editable
installs resolve too), and ``uv pip install`` puts the step's packages in it. The step's
packages win over the platform's; kfp's executor and Headrace's fork server still import.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StepError
from .requirements import StepRequirements

__all__ = ["BuildOptions", "EnvironmentFailed", "build_environment", "platform_site_dirs"]

PTH_FILE = "zz_headrace_platform.pth"
TAIL_LINES = 15
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMED_OUT = re.compile(r"timed? ?out", re.IGNORECASE)
_DROPPED_ENV = ("VIRTUAL_ENV", "UV_PYTHON", "UV_SYSTEM_PYTHON", "UV_PROJECT_ENVIRONMENT")


class EnvironmentFailed(StepError):
    """The step's packages could not be installed; ``str()`` names them and the fix."""


@dataclass(frozen=True)
class BuildOptions:
    """How the trainer runs uv (from `TrainerSettings`)."""

    uv: str
    python: str = sys.executable
    base_site: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    index_url: str = ""
    offline: bool = False
    http_timeout: float = 30.0
    http_retries: int = 3
    extra_env: dict[str, str] = field(default_factory=dict)


def platform_site_dirs() -> tuple[str, ...]:
    """The site-packages folders of the running (platform) environment."""
    paths = sysconfig.get_paths()
    return tuple(dict.fromkeys((paths["purelib"], paths["platlib"])))


async def build_environment(
    folder: Path,
    requirements: StepRequirements,
    options: BuildOptions,
    timeout: float,
    *,
    deadline: float | None = None,
) -> None:
    """Build the environment for ``requirements`` in ``folder`` within ``timeout`` seconds
    (or by the loop time ``deadline``, when the step waited before); raises
    `EnvironmentFailed` saying why."""
    if deadline is None:
        deadline = asyncio.get_running_loop().time() + timeout
    await _uv(
        ["venv", "--quiet", "--relocatable", "--python", options.python, str(folder)],
        options,
        (deadline, timeout),
        requirements,
        what="create an environment for",
    )
    _layer_over_platform(folder, options.base_site)
    await _uv(
        [
            "pip",
            "install",
            "--python",
            str(folder / "bin" / "python"),
            *install_options(requirements, options),
            *requirements.packages,
        ],
        options,
        (deadline, timeout),
        requirements,
        what="install",
    )


def install_options(requirements: StepRequirements, options: BuildOptions) -> list[str]:
    """uv's index options: the component's index URLs (pip's semantics: the best match of
    all of them), else the trainer's default index; the find-links of both."""
    found: list[str] = []
    urls = list(requirements.index_urls) or ([options.index_url] if options.index_url else [])
    if urls:
        found += ["--index-url", urls[0]]
        for url in urls[1:]:
            found += ["--extra-index-url", url]
        if len(urls) > 1:
            found += ["--index-strategy", "unsafe-best-match"]
    for link in dict.fromkeys((*options.find_links, *requirements.find_links)):
        found += ["--find-links", link]
    if options.offline:
        found.append("--offline")
    return found


def _layer_over_platform(folder: Path, base_site: Sequence[str]) -> None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = folder / "lib" / version / "site-packages"
    site_packages.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in base_site)
    (site_packages / PTH_FILE).write_text(lines, encoding="utf-8")


async def _uv(
    args: list[str],
    options: BuildOptions,
    limit: tuple[float, float],
    requirements: StepRequirements,
    *,
    what: str,
) -> None:
    """Run uv with ``args`` until ``limit`` (loop deadline, the whole build's timeout)."""
    loop = asyncio.get_running_loop()
    deadline, timeout = limit
    remaining = deadline - loop.time()
    packages = list(requirements.packages)
    if remaining <= 0:
        raise EnvironmentFailed(_timed_out(packages, requirements, options, timeout, ""))
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    env.update(
        NO_COLOR="1",
        UV_NO_PROGRESS="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_HTTP_TIMEOUT=str(max(1, round(options.http_timeout))),
        UV_HTTP_RETRIES=str(options.http_retries),
        **options.extra_env,
    )
    process = await asyncio.create_subprocess_exec(
        options.uv,
        *args,
        "--no-config",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    chunks: list[bytes] = []

    async def read() -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(1 << 16):
            chunks.append(chunk)

    reader = asyncio.ensure_future(read())
    try:
        await asyncio.wait_for(asyncio.shield(reader), remaining)
        code = await process.wait()
    except TimeoutError:
        _kill(process)
        await process.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        tail = _tail(b"".join(chunks))
        raise EnvironmentFailed(
            _timed_out(packages, requirements, options, timeout, tail)
        ) from None
    except BaseException:
        _kill(process)
        raise
    if code != 0:
        tail = _tail(b"".join(chunks)) or f"uv exited with code {code}"
        if _TIMED_OUT.search(tail):
            raise EnvironmentFailed(_timed_out(packages, requirements, options, None, tail))
        raise EnvironmentFailed(
            f"could not {what} packages {packages}: {tail}: check the name and version, "
            "or the index"
        )


def _timed_out(
    packages: list[str],
    requirements: StepRequirements,
    options: BuildOptions,
    seconds: float | None,
    tail: str,
) -> str:
    """The step's time ran out (``seconds``), or uv's own HTTP timeout did (None)."""
    urls = list(requirements.index_urls) or [options.index_url or "https://pypi.org/simple"]
    named = ", ".join(urls)
    said = f" (uv said: {tail})" if tail else ""
    within = f" within {seconds:g} s" if seconds is not None else ""
    fix = (
        "raise the step's timeout"
        if seconds is not None
        else "raise HEADRACE_TRAINER_INSTALL_HTTP_TIMEOUT_SECONDS"
    )
    return (
        f"could not install packages {packages}{within}: the package index {named} did not "
        f"answer in time{said}: check that the index URL is right and reachable from the "
        f"trainer, or {fix}"
    )


def _tail(output: bytes) -> str:
    text = _ANSI.sub("", output.decode("utf-8", "replace"))
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("Using Python")
    ]
    return " | ".join(lines[-TAIL_LINES:])


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
