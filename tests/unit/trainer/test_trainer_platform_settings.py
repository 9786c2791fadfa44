"""kfp-kubernetes settings the local backend does not apply are each named (pure), read
from a real kfp-kubernetes compiled spec.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

from pathlib import Path

from kfp import compiler, dsl, kubernetes

from headrace_pipelines import load_pipeline
from headrace_trainer.platform_settings import unapplied_settings


@dsl.component
def train() -> None:
    pass


@dsl.pipeline
def everything() -> None:
    task = train()
    kubernetes.add_node_selector(task, label_key="disk", label_value="ssd")
    kubernetes.add_toleration(task, key="gpu", operator="Exists", effect="NoSchedule")
    kubernetes.use_secret_as_env(task, secret_name="creds", secret_key_to_env={"pw": "PW"})
    kubernetes.use_secret_as_volume(task, secret_name="certs", mount_path="/certs")
    kubernetes.use_config_map_as_env(task, config_map_name="cfg", config_map_key_to_env={"a": "A"})
    kubernetes.use_config_map_as_volume(task, config_map_name="cfg", mount_path="/cfg")
    kubernetes.mount_pvc(task, pvc_name="data", mount_path="/data")
    kubernetes.set_image_pull_secrets(task, ["regcred"])
    kubernetes.add_pod_label(task, label_key="team", label_value="ml")
    kubernetes.set_timeout(task, 30)


def test_each_setting_but_the_timeout_is_named(tmp_path: Path) -> None:
    target = tmp_path / "everything.yaml"
    compiler.Compiler().compile(everything, str(target))
    _, platform = load_pipeline(target)
    assert platform is not None
    executor = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    assert unapplied_settings(executor) == [
        "configMapAsEnv (config maps as environment variables: cfg -> A)",
        "configMapAsVolume (config maps as volumes: cfg at /cfg)",
        "imagePullSecret (image pull secrets: regcred)",
        "nodeSelector (node selector: disk=ssd)",
        "podMetadata (pod labels and annotations: labels)",
        "pvcMount (persistent volume claims: data at /data)",
        "secretAsEnv (secrets as environment variables: creds -> PW)",
        "secretAsVolume (secrets as volumes: certs at /certs)",
        "tolerations (tolerations: gpu:Exists:NoSchedule)",
    ]


def test_an_unknown_setting_is_still_named() -> None:
    assert unapplied_settings({"futureThing": {"x": 1}, "activeDeadlineSeconds": "5"}) == [
        "futureThing (a Kubernetes setting)"
    ]
    assert unapplied_settings({}) == []
