"""Which services the platform runs and how many replicas of each (``--scale SERVICE=N``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SERVICES: tuple[str, ...] = ("scheduler", "trainer", "tuner", "serving", "metadata")

SINGLE: dict[str, str] = {
    "serving": (
        "the serving service runs every InferenceService's router and model-server processes "
        "on this machine, on ports it keeps across restarts: a second replica would open the "
        "same routers; scale a service's model servers with the InferenceService's "
        "minReplicas/maxReplicas instead"
    ),
}
"""Services that run as one replica on one machine, and why."""


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
    if replicas > 1 and name in SINGLE:
        raise ScaleError(f"{name} runs as one replica on one machine: {SINGLE[name]}")
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
