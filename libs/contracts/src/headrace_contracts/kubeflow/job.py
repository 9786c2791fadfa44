"""The one internal training-job model every Kubeflow kind becomes.

A ``PyTorchJob``, a ``TFJob`` and a ``TrainJob`` all load into a :class:`TrainingJobSpec`:
replica groups (a role, a count, one container, its resources and restart policy), the
processes per node, an optional elastic policy and a run policy. Backends, the gang policy
and the distributed environment read only this model, never the YAML.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..common import Resources

Role = Literal["master", "worker", "chief", "ps", "evaluator", "node"]
RestartPolicy = Literal["Never", "OnFailure", "Always", "ExitCode"]
CleanPodPolicy = Literal["None", "Running", "All"]
Framework = Literal["pytorch", "tensorflow"]
JobKind = Literal["PyTorchJob", "TFJob", "TrainJob"]

ROLE_ORDER: tuple[Role, ...] = ("master", "chief", "ps", "worker", "evaluator", "node")
"""The order replica groups are kept in (and started in): coordinators first."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnvVar(_Frozen):
    name: str
    value: str = ""


class ContainerSpec(_Frozen):
    """What one replica runs: ``command`` + ``args`` (Kubernetes semantics), in ``image``
    when the backend runs images, with ``env`` added to the distributed environment."""

    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    working_dir: str = ""


class ReplicaGroup(_Frozen):
    """``count`` replicas of one role, all alike but for their index."""

    role: Role
    replica_type: str = Field(description="the key the YAML used: Master, Worker, Chief, ...")
    count: int = Field(ge=1)
    container: ContainerSpec
    resources: Resources = Field(default_factory=Resources)
    restart_policy: RestartPolicy = "Never"

    @property
    def gpus(self) -> int:
        """NVIDIA GPUs each replica of the group asks for (its limit, else its request)."""
        return self.resources.gpu


class ElasticPolicy(_Frozen):
    """torchrun elastic rendezvous: ``PET_NNODES=min:max`` and a c10d rendezvous."""

    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    max_restarts: int | None = None
    rdzv_backend: Literal["c10d"] = "c10d"
    rdzv_id: str = ""


class RunPolicy(_Frozen):
    """Kubeflow's ``runPolicy``. ``backoff_limit`` None means no limit, as in Kubeflow."""

    backoff_limit: int | None = Field(default=None, ge=0)
    active_deadline_seconds: int | None = Field(default=None, ge=1)
    clean_pod_policy: CleanPodPolicy = "None"
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    suspend: bool = False


class TrainingJobSpec(_Frozen):
    """A training job, whatever YAML kind it came from."""

    name: str
    namespace: str = "default"
    kind: JobKind
    api_version: str
    framework: Framework
    replicas: tuple[ReplicaGroup, ...] = Field(min_length=1, description="in ROLE_ORDER")
    nproc_per_node: int | Literal["auto"] | None = Field(
        default=None, description="None: not given (PyTorch kinds then behave as 'auto')"
    )
    elastic: ElasticPolicy | None = None
    run_policy: RunPolicy = Field(default_factory=RunPolicy)
    success_policy: Literal["", "AllWorkers"] = Field(
        default="", description="TFJob only: '' (chief, else worker 0) or AllWorkers"
    )
    runtime: str = Field(default="", description="TrainJob: the runtimeRef name")
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def total_replicas(self) -> int:
        return sum(group.count for group in self.replicas)

    def group(self, role: Role) -> ReplicaGroup | None:
        """The replica group of ``role``, or None when the job has none."""
        return next((g for g in self.replicas if g.role == role), None)

    def roles(self) -> tuple[Role, ...]:
        return tuple(g.role for g in self.replicas)

    def replica_names(self) -> list[tuple[Role, int]]:
        """Every replica as ``(role, index)``, in start order."""
        return [(g.role, i) for g in self.replicas for i in range(g.count)]
