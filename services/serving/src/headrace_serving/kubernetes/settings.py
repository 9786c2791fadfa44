"""Settings of the serving service's Kubernetes data plane (``HEADRACE_SERVING_BACKEND``,
``HEADRACE_SERVING_KUBERNETES_*``), built at start; nothing here talks to a cluster."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServingKubernetesSettings"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MODEL_PORT = 8080


class ServingKubernetesSettings(BaseSettings):
    """``HEADRACE_SERVING_BACKEND``: ``local`` or ``kubernetes``; when unset, the platform's
    ``HEADRACE_BACKEND`` (default ``local``). Each revision then runs as a Deployment of
    ``image`` (which has ``headrace-model-server`` on its ``PATH``, or ``command``), a
    ClusterIP Service and a HorizontalPodAutoscaler (``hpa_cpu_percent`` of the pods' CPU
    request), or a KEDA ScaledObject when ``keda`` is on (its Prometheus trigger:
    ``keda_prometheus`` and ``keda_query``, where ``{namespace}``, ``{service}`` and
    ``{revision}`` are replaced), which allows ``minReplicas: 0``.

    ``namespace``: the Kubernetes namespace of every InferenceService (empty: its own);
    ``service_account``, ``env_secret`` (a Secret whose keys become the pods' environment),
    ``nats_url`` (the pods' ``HEADRACE_NATS_URL``, to load ``models:/`` URIs; empty: the
    service's own), ``artifacts`` (the pods' ``HEADRACE_ARTIFACTS``, for ``s3://`` models),
    ``unschedulable_seconds`` (how long a pod may wait for a node before its revision
    fails), ``watch_seconds`` (one watch call's length), ``kubeconfig`` and ``context`` (as
    the trainer's: else ``KUBECONFIG``, else in-cluster config in a pod).
    """

    model_config = SettingsConfigDict(
        env_prefix="HEADRACE_SERVING_KUBERNETES_", extra="ignore", populate_by_name=True
    )

    backend: Literal["local", "kubernetes"] = Field(
        default="local",
        validation_alias=AliasChoices("HEADRACE_SERVING_BACKEND", "HEADRACE_BACKEND", "backend"),
    )
    namespace: str = ""
    image: str = ""
    command: str = "headrace-model-server"
    service_account: str = ""
    env_secret: str = ""
    nats_url: str = ""
    artifacts: str = ""
    hpa_cpu_percent: int = Field(default=80, ge=1)
    keda: bool = False
    keda_prometheus: str = ""
    keda_query: str = ""
    kubeconfig: str = ""
    context: str = ""
    unschedulable_seconds: float = Field(default=300.0, ge=0)
    watch_seconds: int = Field(default=240, ge=1)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if value and (len(value) > 63 or not _DNS_LABEL.match(value)):
            raise ValueError(
                f"HEADRACE_SERVING_KUBERNETES_NAMESPACE={value!r} is not a Kubernetes "
                "namespace name: use at most 63 lower-case letters, digits and '-'"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> ServingKubernetesSettings:
        if self.keda and not (self.keda_prometheus and self.keda_query):
            raise ValueError(
                "HEADRACE_SERVING_KUBERNETES_KEDA=true needs the ScaledObject's Prometheus "
                "trigger: set HEADRACE_SERVING_KUBERNETES_KEDA_PROMETHEUS (the server's URL) "
                "and HEADRACE_SERVING_KUBERNETES_KEDA_QUERY (requests in flight of "
                "{revision} in {namespace})"
            )
        return self

    def require_image(self) -> str:
        if not self.image:
            raise ValueError(
                "the serving service runs on Kubernetes (HEADRACE_SERVING_BACKEND, else "
                "HEADRACE_BACKEND, is kubernetes) but HEADRACE_SERVING_KUBERNETES_IMAGE is not "
                "set: give an image with headrace-model-server on its PATH (and the model "
                "formats' libraries), or set HEADRACE_SERVING_BACKEND=local to serve on this "
                "machine"
            )
        return self.image

    def namespace_for(self, namespace: str) -> str:
        """The Kubernetes namespace of an InferenceService of Headrace namespace ``namespace``."""
        return self.namespace or namespace or "default"

    def base_name(self, namespace: str, name: str) -> str:
        """A name's prefix: the Headrace namespace too when every namespace shares one."""
        return f"{namespace}-{name}" if self.namespace else name
