"""Wire models of ``kubeflow.org/v1`` ``PyTorchJob`` and ``TFJob`` (training-operator v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._wire import ObjectMeta, PodTemplateWire, Wire

API_VERSION = "kubeflow.org/v1"


class ReplicaSpecWire(Wire):
    replicas: int = Field(default=1, ge=1)
    restart_policy: Literal["Never", "OnFailure", "Always", "ExitCode"] | None = None
    template: PodTemplateWire


class RunPolicyWire(Wire):
    clean_pod_policy: Literal["None", "Running", "All"] | None = None
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    active_deadline_seconds: int | None = Field(default=None, ge=1)
    backoff_limit: int | None = Field(default=None, ge=0)
    suspend: bool = False


class ElasticPolicyWire(Wire):
    min_replicas: int | None = Field(default=None, ge=1)
    max_replicas: int | None = Field(default=None, ge=1)
    max_restarts: int | None = Field(default=None, ge=0)
    rdzv_backend: Literal["c10d"] = "c10d"
    rdzv_id: str = ""
    n_proc_per_node: int | None = Field(default=None, ge=1)


class PyTorchJobSpecWire(Wire):
    run_policy: RunPolicyWire = Field(default_factory=RunPolicyWire)
    elastic_policy: ElasticPolicyWire | None = None
    pytorch_replica_specs: dict[str, ReplicaSpecWire] = Field(min_length=1)
    nproc_per_node: int | str | None = None


class PyTorchJobWire(Wire):
    api_version: Literal["kubeflow.org/v1"]
    kind: Literal["PyTorchJob"]
    metadata: ObjectMeta
    spec: PyTorchJobSpecWire


class TFJobSpecWire(Wire):
    run_policy: RunPolicyWire = Field(default_factory=RunPolicyWire)
    success_policy: Literal["", "AllWorkers"] = ""
    tf_replica_specs: dict[str, ReplicaSpecWire] = Field(min_length=1)
    enable_dynamic_worker: Literal[False] = False


class TFJobWire(Wire):
    api_version: Literal["kubeflow.org/v1"]
    kind: Literal["TFJob"]
    metadata: ObjectMeta
    spec: TFJobSpecWire
