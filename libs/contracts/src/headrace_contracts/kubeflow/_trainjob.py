"""Wire model of Kubeflow Trainer v2 ``trainer.kubeflow.org/v1alpha1`` ``TrainJob``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._wire import EnvVarWire, ObjectMeta, ResourceRequirementsWire, Wire

API_VERSION = "trainer.kubeflow.org/v1alpha1"
TORCH_DISTRIBUTED = "torch-distributed"
KNOWN_RUNTIMES = (TORCH_DISTRIBUTED,)
RUNTIME_IMAGE = "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"
"""The image the built-in torch-distributed runtime gives its node container."""


class RuntimeRefWire(Wire):
    name: str = Field(min_length=1)
    api_group: Literal["trainer.kubeflow.org"] = "trainer.kubeflow.org"
    kind: Literal["ClusterTrainingRuntime"] = "ClusterTrainingRuntime"


class TrainerWire(Wire):
    image: str = ""
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: list[EnvVarWire] = Field(default_factory=list)
    num_nodes: int = Field(default=1, ge=1)
    resources_per_node: ResourceRequirementsWire = Field(default_factory=ResourceRequirementsWire)
    num_proc_per_node: int | str | None = None


class TrainJobSpecWire(Wire):
    runtime_ref: RuntimeRefWire
    trainer: TrainerWire = Field(default_factory=TrainerWire)
    suspend: bool = False
    active_deadline_seconds: int | None = Field(default=None, ge=1)


class TrainJobWire(Wire):
    api_version: Literal["trainer.kubeflow.org/v1alpha1"]
    kind: Literal["TrainJob"]
    metadata: ObjectMeta
    spec: TrainJobSpecWire
