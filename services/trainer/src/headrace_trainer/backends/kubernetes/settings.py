"""Settings of the Kubernetes backend (``HEADRACE_BACKEND``, ``HEADRACE_KUBERNETES_*``), built
at start like `TrainerSettings`; nothing here talks to a cluster."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GangScheduler", "KubernetesSettings"]

GangScheduler = Literal["", "scheduler-plugins", "volcano"]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class KubernetesSettings(BaseSettings):
    """``HEADRACE_BACKEND``: ``local`` (default) or ``kubernetes``.

    ``HEADRACE_KUBERNETES_NAMESPACE``: the Kubernetes namespace every workload goes to;
    empty (default): the Headrace namespace of the training job (``default`` for steps).
    ``HEADRACE_KUBERNETES_EXECUTOR_IMAGE``: an image holding a relocatable Headrace install
    (its own Python included) at ``HEADRACE_KUBERNETES_EXECUTOR_PATH`` (default
    ``/opt/headrace``); an init container copies it into each step pod, whose container then
    runs ``<path>/bin/headrace-executor`` in the component's image. Empty (default): the
    component's image carries ``headrace-executor`` on its ``PATH`` itself.
    ``HEADRACE_KUBERNETES_SERVICE_ACCOUNT``: the pods' service account (empty: the
    namespace's default). ``HEADRACE_KUBERNETES_ARTIFACTS``: the artifact store URI step pods
    use (their ``HEADRACE_ARTIFACTS``); ``HEADRACE_KUBERNETES_ENV_SECRET``: a Secret whose
    keys become every step pod's environment (``HEADRACE_S3_*`` credentials, for example).
    ``HEADRACE_KUBERNETES_GANG_SCHEDULER``: ``scheduler-plugins`` (coscheduling's
    ``scheduling.x-k8s.io`` PodGroup) or ``volcano``; a training job then gets a PodGroup
    of all its replicas and its pods name it; ``HEADRACE_KUBERNETES_SCHEDULER_NAME`` the
    pods' ``schedulerName`` (default: ``volcano`` with Volcano, else the cluster's).
    ``HEADRACE_KUBERNETES_OTLP_ENDPOINT`` (else the trainer's own
    ``OTEL_EXPORTER_OTLP_ENDPOINT``): the pods' ``OTEL_EXPORTER_OTLP_ENDPOINT``, where their
    spans go (empty: none is set, the pods' spans carry the trace on but are not exported).

    Talking to the cluster: ``HEADRACE_KUBERNETES_KUBECONFIG`` (else ``KUBECONFIG``, else
    ``~/.kube/config``) names the kubeconfig file; inside a pod (``KUBERNETES_SERVICE_HOST``
    set) with no kubeconfig named, the pod's service account is used (in-cluster config).
    ``HEADRACE_KUBERNETES_CONTEXT``: a kubeconfig context other than the current one.
    ``HEADRACE_KUBERNETES_UNSCHEDULABLE_SECONDS`` (default 300): how long a pod may wait
    for a node (``Unschedulable``, e.g. no free GPU) before its replica fails.
    ``HEADRACE_KUBERNETES_WATCH_SECONDS`` (default 240): how long one watch call lasts
    before it is renewed from its resourceVersion. ``HEADRACE_KUBERNETES_LOG_UPLOAD_SECONDS``
    (default 2): how often a running pod's log is copied to the artifact store.
    """

    model_config = SettingsConfigDict(
        env_prefix="HEADRACE_KUBERNETES_", extra="ignore", populate_by_name=True
    )

    backend: Literal["local", "kubernetes"] = Field(
        default="local", validation_alias=AliasChoices("HEADRACE_BACKEND", "backend")
    )
    namespace: str = ""
    executor_image: str = ""
    executor_path: str = "/opt/headrace"
    service_account: str = ""
    artifacts: str = ""
    env_secret: str = ""
    otlp_endpoint: str = Field(
        default="",
        validation_alias=AliasChoices(
            "HEADRACE_KUBERNETES_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"
        ),
    )
    gang_scheduler: GangScheduler = ""
    scheduler_name: str = ""
    kubeconfig: str = ""
    context: str = ""
    unschedulable_seconds: float = Field(default=300.0, ge=0)
    watch_seconds: int = Field(default=240, ge=1)
    log_upload_seconds: float = Field(default=2.0, gt=0)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if value and (len(value) > 63 or not _DNS_LABEL.match(value)):
            raise ValueError(
                f"HEADRACE_KUBERNETES_NAMESPACE={value!r} is not a Kubernetes namespace name: "
                "use at most 63 lower-case letters, digits and '-'"
            )
        return value

    @field_validator("executor_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(
                f"HEADRACE_KUBERNETES_EXECUTOR_PATH={value!r} is not an absolute path: "
                "give the folder of the executor image's Headrace install, e.g. /opt/headrace"
            )
        return value.rstrip("/") or "/"

    def namespace_for(self, namespace: str) -> str:
        """The Kubernetes namespace of a workload of Headrace namespace ``namespace``."""
        return self.namespace or namespace or "default"

    @property
    def pod_scheduler(self) -> str:
        """The pods' ``schedulerName`` ("" leaves the cluster's default)."""
        if self.scheduler_name:
            return self.scheduler_name
        return "volcano" if self.gang_scheduler == "volcano" else ""
