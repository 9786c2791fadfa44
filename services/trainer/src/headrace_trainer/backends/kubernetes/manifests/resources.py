"""A step's or replica's `Resources` as a container's requests and limits.

CPU and memory requests and limits are written as given (Kubernetes defaults a missing
request to its limit). Accelerators are an extended resource (``nvidia.com/gpu``): written
as a limit of the count (Kubernetes makes the request equal). A kfp accelerator type that is
not a resource name (``NVIDIA_TESLA_T4``, Vertex AI's style) is a problem, not a guess.
"""

from __future__ import annotations

import re

from kubernetes.client import V1ResourceRequirements
from kubernetes.utils.quantity import parse_quantity

from headrace_contracts import Resources

from .reader import Problems

__all__ = ["requirements"]

_RESOURCE_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


def requirements(
    resources: Resources, path: str, problems: Problems
) -> V1ResourceRequirements | None:
    """The container resources of ``resources`` (None: it asks for nothing); bad quantities
    are ``problems`` at ``path``."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for target, name, value, field in (
        (requests, "cpu", resources.cpu_request, "cpuRequest"),
        (limits, "cpu", resources.cpu_limit, "cpuLimit"),
        (requests, "memory", resources.memory_request, "memoryRequest"),
        (limits, "memory", resources.memory_limit, "memoryLimit"),
    ):
        if not value:
            continue
        try:
            parse_quantity(value)
        except (ValueError, TypeError):
            problems.add(
                f"{path}.{field}",
                f"{value!r} is not a Kubernetes quantity: write it like 500m or 4Gi",
            )
            continue
        target[name] = value
    if not (requests or limits) and (resources.cpu or resources.memory):
        for name, value in (("cpu", resources.cpu), ("memory", resources.memory)):
            if value:
                requests[name] = value
    count = resources.accelerator_count or resources.gpu
    if count:
        kind = resources.accelerator_type or resources.gpu_type
        if "/" not in kind or not _RESOURCE_NAME.match(kind):
            problems.add(
                f"{path}.accelerator.type",
                f"{kind!r} is not a Kubernetes resource name: use "
                "set_accelerator_type('nvidia.com/gpu') and pick the GPU model with "
                "kubernetes.add_node_selector",
            )
        else:
            limits[kind] = str(count)
    if not (requests or limits):
        return None
    return V1ResourceRequirements(requests=requests or None, limits=limits or None)
