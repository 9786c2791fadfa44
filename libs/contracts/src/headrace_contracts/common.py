"""Value objects shared by several messages (not messages themselves)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JsonValue = Any
"""A JSON value whose Python type is preserved exactly (an int stays an int)."""


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ArtifactRef(Value):
    """Where an artifact lives and what it is; events carry this, never the bytes."""

    uri: str = Field(description="file:// or s3:// URI in the artifact store")
    name: str = Field(default="", description="output name of the producing step")
    schema_title: str = Field(default="system.Artifact", description="e.g. system.Dataset")
    schema_version: str = "0.0.1"
    digest: str = Field(default="", description="sha256:<hex> of the content, when known")
    size: int | None = Field(default=None, description="bytes; for a directory, the sum")
    is_dir: bool = False
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class Resources(Value):
    """Compute a workload asks for (Kubernetes-style quantities: ``500m``, ``2``, ``4Gi``).

    ``cpu``/``memory`` are what the workload needs to be admitted: its request, else its
    limit (Kubernetes defaults a request to the limit). ``gpu``/``gpu_type`` mirror the
    accelerator count and type. The request and limit fields keep what the spec said.
    """

    cpu: str | None = None
    memory: str | None = None
    gpu: int = 0
    gpu_type: str = "nvidia.com/gpu"
    cpu_request: str | None = Field(default=None, description="set_cpu_request, e.g. '500m'")
    cpu_limit: str | None = Field(default=None, description="set_cpu_limit, e.g. '2'")
    memory_request: str | None = Field(default=None, description="set_memory_request, e.g. '1G'")
    memory_limit: str | None = Field(default=None, description="set_memory_limit, e.g. '4Gi'")
    accelerator_type: str = Field(
        default="", description="set_accelerator_type, e.g. 'nvidia.com/gpu'"
    )
    accelerator_count: int = Field(default=0, description="set_accelerator_limit")
