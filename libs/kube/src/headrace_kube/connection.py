"""Loading a cluster's client configuration the same way for every service: a kubeconfig file
(the one named, else ``KUBECONFIG``, else ``~/.kube/config``) and its context, or, in a pod
with none named, the pod's service account."""

from __future__ import annotations

import os

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

__all__ = ["ConfigurationError", "load_configuration"]


class ConfigurationError(Exception):
    """No configuration could be loaded from ``where``; ``reason`` says why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def load_configuration(kubeconfig: str = "", context: str = "") -> client.Configuration:
    configuration = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG", "")
    in_cluster = not path and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=path or None,
                context=context or None,
                client_configuration=configuration,
            )
    except (ConfigException, OSError, TypeError) as error:
        where = "the pod's service account" if in_cluster else (path or "~/.kube/config")
        raise ConfigurationError(where, str(error)) from error
    return configuration
