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
    """Compute a workload asks for (Kubernetes-style quantities)."""

    cpu: str | None = None
    memory: str | None = None
    gpu: int = 0
    gpu_type: str = "nvidia.com/gpu"
