"""Frozen Pydantic models of the Kubernetes parts Kubeflow YAML embeds (the wire shape).

Every model forbids fields it does not declare, so each unsupported field comes back as a
validation error with its full path. A few fields are declared only to be accepted and
ignored locally (:data:`NO_OP_FIELDS`): they matter to a Kubernetes cluster (labels, image
pulls, ports) but change nothing about what a replica runs.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

NO_OP_FIELDS: tuple[str, ...] = (
    "metadata.annotations",
    "<pod template>.metadata (labels, annotations)",
    "<container>.name",
    "<container>.imagePullPolicy",
    "<container>.ports",
    "<pod spec>.imagePullSecrets",
    "<pod spec>.restartPolicy (the replica's restartPolicy decides, as in Kubeflow)",
    "runtimeRef.apiGroup (must be trainer.kubeflow.org)",
)
"""Fields accepted and ignored by the local backend (documented in docs/training-jobs.md)."""

GPU_RESOURCE = "nvidia.com/gpu"
RESOURCE_NAMES = ("cpu", "memory", GPU_RESOURCE)

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?\d+)?$")


class Wire(BaseModel):
    """Base of the wire models: camelCase names, frozen, nothing unknown accepted."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=False
    )


class ObjectMeta(Wire):
    name: str
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _dns_1035(cls, name: str) -> str:
        if not _DNS_1035.match(name) or len(name) > 63:
            raise ValueError(
                f"{name!r} is not a DNS-1035 label: use lower-case letters, digits and '-', "
                "starting with a letter (at most 63 characters)"
            )
        return name

    @field_validator("namespace")
    @classmethod
    def _dns_1123(cls, namespace: str) -> str:
        if namespace and (not _DNS_1123.match(namespace) or len(namespace) > 63):
            raise ValueError(
                f"{namespace!r} is not a DNS label: use lower-case letters, digits and '-'"
            )
        return namespace


class TemplateMeta(Wire):
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class EnvVarWire(Wire):
    name: str = Field(min_length=1)
    value: str = ""

    @field_validator("value", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        # YAML turns `value: 1` into an int; Kubernetes wants a string, kubectl says so.
        if isinstance(value, bool | int | float):
            raise ValueError(f"must be a string: quote it ('{value}')")
        return value


class ResourceRequirementsWire(Wire):
    limits: dict[str, str] = Field(default_factory=dict)
    requests: dict[str, str] = Field(default_factory=dict)

    @field_validator("limits", "requests", mode="before")
    @classmethod
    def _quantities(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = [key for key in value if key not in RESOURCE_NAMES]
        if unknown:
            names = ", ".join(repr(key) for key in unknown)
            raise ValueError(
                f"resource {names} is not supported: ask only for " + ", ".join(RESOURCE_NAMES)
            )
        out: dict[str, Any] = {}
        for key, amount in value.items():
            text = str(amount) if isinstance(amount, int | float) else amount
            if isinstance(text, str) and not _QUANTITY.match(text):
                raise ValueError(
                    f"{key}: {amount!r} is not a Kubernetes quantity: write e.g. '500m', '2', '4Gi'"
                )
            out[key] = text
        return out


class ContainerPortWire(Wire):
    container_port: int | None = None
    name: str = ""
    protocol: str = ""


class ContainerWire(Wire):
    name: str = ""
    image: str = ""
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: list[EnvVarWire] = Field(default_factory=list)
    working_dir: str = ""
    resources: ResourceRequirementsWire = Field(default_factory=ResourceRequirementsWire)
    image_pull_policy: str = ""  # no-op locally
    ports: list[ContainerPortWire] = Field(default_factory=list)  # no-op locally


class LocalObjectReference(Wire):
    name: str = ""


class PodSpecWire(Wire):
    containers: list[ContainerWire] = Field(min_length=1)
    image_pull_secrets: list[LocalObjectReference] = Field(default_factory=list)  # no-op
    restart_policy: str = ""  # Kubeflow overrides it with the replica's; checked by the loader


class PodTemplateWire(Wire):
    metadata: TemplateMeta = Field(default_factory=TemplateMeta)
    spec: PodSpecWire
