"""What a step asks for, read from the compiled spec (pure).

kfp writes a task's ``set_cpu_limit``/``set_memory_request``/``set_accelerator_*`` into
``deploymentSpec.executors.<label>.container.resources``, both as the current string fields
(``resourceCpuLimit: '2'``, ``resourceMemoryRequest: 1G``, ``accelerator.resourceType``/
``resourceCount``) and as the deprecated numeric ones (``cpuLimit: 2.0``, ``memoryLimit`` in
GB, ``accelerator.type``/``count``). The string fields win; a value set from a pipeline
parameter is a ``{{$.inputs.parameters['pipelinechannel--x']}}`` placeholder, resolved here
from the task's inputs. kfp-kubernetes settings (the second YAML document) arrive per
executor label; ``activeDeadlineSeconds`` is the one the scheduler itself applies: it is the
step's timeout.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from headrace_contracts import Resources

__all__ = ["resources_of", "timeout_of"]

_PLACEHOLDER = re.compile(r"^\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}$")


def resources_of(container: Mapping[str, Any], parameters: Mapping[str, Any]) -> Resources:
    """The :class:`Resources` of a container spec, placeholders resolved from ``parameters``."""
    spec = container.get("resources") or {}
    if not spec:
        return Resources()

    def pick(current: str, legacy: str, unit: str = "") -> str | None:
        value = spec.get(current)
        if value not in (None, ""):
            return _resolve(value, parameters)
        old = spec.get(legacy)
        if old in (None, "", 0, 0.0):
            return None
        return f"{float(old):g}{unit}"

    cpu_request = pick("resourceCpuRequest", "cpuRequest")
    cpu_limit = pick("resourceCpuLimit", "cpuLimit")
    memory_request = pick("resourceMemoryRequest", "memoryRequest", "G")
    memory_limit = pick("resourceMemoryLimit", "memoryLimit", "G")
    accelerator = spec.get("accelerator") or {}
    kind = _resolve(accelerator.get("resourceType") or accelerator.get("type") or "", parameters)
    count_text = _resolve(
        accelerator.get("resourceCount") or accelerator.get("count") or 0, parameters
    )
    count = int(count_text) if str(count_text).isdigit() else 0
    if kind and not count_text:
        count = 1  # kfp: a type without a limit asks for one device
    return Resources(
        cpu=cpu_request or cpu_limit,
        memory=memory_request or memory_limit,
        gpu=count,
        gpu_type=kind or "nvidia.com/gpu",
        cpu_request=cpu_request,
        cpu_limit=cpu_limit,
        memory_request=memory_request,
        memory_limit=memory_limit,
        accelerator_type=kind,
        accelerator_count=count,
    )


def timeout_of(platform: Mapping[str, Any]) -> float | None:
    """Seconds of kfp-kubernetes ``set_timeout`` (``activeDeadlineSeconds``), if set."""
    value = platform.get("activeDeadlineSeconds")
    if value in (None, "", "0", 0):
        return None
    return float(value)


def _resolve(value: Any, parameters: Mapping[str, Any]) -> str:
    text = str(value)
    found = _PLACEHOLDER.match(text)
    if found is None:
        return text
    name = found.group(1)
    if name in parameters:
        return str(parameters[name])
    return text
