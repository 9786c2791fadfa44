"""A cluster configuration that cannot be loaded names where it was looked for, and each
service's error adds its own fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace_kube import ConfigurationError, load_configuration
from headrace_serving.dataplane import FleetError
from headrace_serving.kubernetes.api import connect as connect_serving
from headrace_serving.kubernetes.settings import ServingKubernetesSettings
from headrace_trainer.backends.kubernetes.api import connect as connect_trainer
from headrace_trainer.backends.kubernetes.settings import KubernetesSettings
from headrace_trainer.errors import WorkloadError


def test_a_missing_kubeconfig_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "config"
    with pytest.raises(ConfigurationError) as caught:
        load_configuration(str(missing))
    assert caught.value.where == str(missing)


def test_a_kubeconfig_without_the_context_asked_for_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
        "clusters: [{name: a, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "contexts: [{name: a, context: {cluster: a, user: a}}]\n"
        "users: [{name: a, user: {token: t}}]\n"
    )
    assert load_configuration(str(path)).host == "https://127.0.0.1:6443"
    with pytest.raises(ConfigurationError) as caught:
        load_configuration(str(path), context="b")
    assert caught.value.where == str(path)
    assert "b" in caught.value.reason


def test_each_service_says_where_it_looked_and_its_own_fix(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent")
    with pytest.raises(WorkloadError) as trainer:
        connect_trainer(KubernetesSettings(kubeconfig=missing))
    assert str(trainer.value).startswith(
        f"the Kubernetes backend cannot load its cluster configuration from {missing} ("
    )
    assert "HEADRACE_KUBERNETES_KUBECONFIG" in str(trainer.value)
    with pytest.raises(FleetError) as serving:
        connect_serving(ServingKubernetesSettings(kubeconfig=missing))
    assert str(serving.value).startswith(
        f"the serving service cannot load its Kubernetes configuration from {missing} ("
    )
    assert "HEADRACE_SERVING_KUBERNETES_KUBECONFIG" in str(serving.value)
