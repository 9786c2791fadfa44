"""Which services the platform runs and how many replicas of each (``--scale SERVICE=N``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SERVICES: tuple[str, ...] = ("scheduler", "trainer", "tuner", "serving", "metadata")


class ScaleError(ValueError):
    """A ``--scale`` value the user must fix; the message names the value and the fix."""


def parse_scale_item(text: str) -> tuple[str, int]:
    """``"metadata=2"`` -> ``("metadata", 2)``."""
    name, sep, count = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ScaleError(f"--scale takes SERVICE=N (e.g. metadata=2), got {text!r}")
    if name not in SERVICES:
        known = ", ".join(sorted(SERVICES))
        raise ScaleError(f"unknown service {name!r} (services: {known})")
    try:
        replicas = int(count.strip())
    except ValueError:
        replicas = 0
    if replicas < 1:
        raise ScaleError(
            f"replica count must be a positive integer, got {count.strip()!r} for {name!r}"
        )
    return name, replicas


def plan_replicas(items: Iterable[str] = ()) -> dict[str, int]:
    """Replicas per service: 1 each, overridden by ``SERVICE=N`` items (the last one wins)."""
    wanted = dict.fromkeys(SERVICES, 1)
    for item in items:
        name, replicas = parse_scale_item(item)
        wanted[name] = replicas
    return wanted


def instance_name(service: str, index: int) -> str:
    """The ``HEADRACE_INSTANCE_ID`` of replica ``index`` of ``service``."""
    return f"{service}-{index}"


def scale_args(wanted: Mapping[str, int]) -> list[str]:
    """The ``SERVICE=N`` items that reproduce ``wanted`` (only those other than 1)."""
    return [f"{name}={n}" for name, n in wanted.items() if n != 1]
