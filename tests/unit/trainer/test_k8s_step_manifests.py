"""A pipeline step as Kubernetes objects: every kfp-kubernetes setting, checked against the
API schema and the official client's models (no cluster)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler, dsl, kubernetes

from headrace_contracts import Resources, StepReady
from headrace_contracts.steps import StepInputs
from headrace_trainer.backends.kubernetes import KubernetesSettings
from headrace_trainer.backends.kubernetes.manifests import (
    LABEL_MANAGED_BY,
    LABEL_RUN,
    LABEL_STEP,
    PENDING_UID,
    step_manifests,
)
from headrace_trainer.errors import ManifestUnsupported, StepError

Check = Callable[[list[dict[str, Any]]], None]
Configure = Callable[[Any, Any], None]


def compiled_step(
    folder: Path, configure: Configure, *, parameters: dict[str, Any] | None = None, **step: Any
) -> StepReady:
    """The StepReady of a one-step pipeline whose task ``configure(task, pvc_parameter)``
    set up with the real kfp and kfp-kubernetes SDKs."""

    @dsl.container_component
    def train():  # type: ignore[no-untyped-def]  # kfp reads the annotations
        return dsl.ContainerSpec(image="python:3.11", command=["python", "-c", "print(1)"])

    @dsl.pipeline(name="pipe")
    def pipe(pvc: str = "data"):  # type: ignore[no-untyped-def]
        configure(train(), pvc)

    path = folder / "pipe.yaml"
    compiler.Compiler().compile(pipe, str(path))
    spec, *platform = list(yaml.safe_load_all(path.read_text()))
    (executor,) = spec["deploymentSpec"]["executors"].values()
    executors = (
        platform[0]["platforms"]["kubernetes"]["deploymentSpec"]["executors"] if platform else {}
    )
    return StepReady(
        run_id="run-1",
        step_id="root/train",
        task_name="train",
        executor=executor,
        platform=next(iter(executors.values()), {}),
        inputs=StepInputs(parameters=parameters or {}),
        **step,
    )


def objects_of(step: StepReady, settings: KubernetesSettings | None = None) -> list[dict[str, Any]]:
    return step_manifests(step, settings or KubernetesSettings()).to_dicts()


def pod_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (job,) = [o for o in objects if o["kind"] == "Job"]
    return job["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def container_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return pod_of(objects)["containers"][0]  # type: ignore[no-any-return]


def test_a_plain_step_is_a_configmap_and_a_single_pod_job_running_the_executor(
    tmp_path: Path, check_kubernetes: Check
) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: None, timeout_seconds=90.5)
    objects = objects_of(step)
    check_kubernetes(objects)
    parent, config, job = objects
    assert [o["kind"] for o in objects] == ["ConfigMap", "ConfigMap", "Job"]
    assert parent["metadata"]["name"] == "headrace-run-run-1"
    assert "ownerReferences" not in parent["metadata"]
    for child in (config, job):
        (owner,) = child["metadata"]["ownerReferences"]
        assert owner == {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "headrace-run-run-1",
            "uid": PENDING_UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels[LABEL_MANAGED_BY] == "headrace"
        assert labels[LABEL_RUN] == "run-1"
        assert obj["metadata"]["namespace"] == "default"
    assert job["metadata"]["labels"][LABEL_STEP].startswith("root-train-")  # '/' hashed
    assert job["metadata"]["annotations"]["headrace.io/step-id"] == "root/train"
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["completions"], spec["parallelism"]) == (0, 1, 1)
    assert spec["activeDeadlineSeconds"] == 91  # the step's timeout, rounded up
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert spec["template"]["metadata"]["labels"] == job["metadata"]["labels"]
    main = pod["containers"][0]
    assert main["image"] == "python:3.11"
    assert main["command"] == [
        "headrace-executor",
        "/headrace/step/step.json",
        "--out",
        "/headrace/work/outcome.json",
        "--workdir",
        "/headrace/work/step",
        "--outcome-key",  # where the launcher reads the outcome back
        "runs/run-1/root/train/attempt-1/outcome.json",
        "--echo-log",  # the pod's log is the step's
    ]
    assert "initContainers" not in pod
    # The executor reads the StepReady from the ConfigMap; in the pod the image runs.
    assert pod["volumes"][0] == {
        "name": "headrace-step",
        "configMap": {"name": config["metadata"]["name"]},
    }
    ready = StepReady.model_validate_json(config["data"]["step.json"])
    assert ready.allow_host_containers
    assert ready.model_copy(update={"allow_host_containers": False}) == step


def test_the_executor_image_is_copied_in_by_an_init_container(
    tmp_path: Path, check_kubernetes: Check
) -> None:
    settings = KubernetesSettings(
        executor_image="registry.example/headrace:1",
        executor_path="/opt/hr",
        service_account="runner",
        artifacts="s3://bucket/headrace",
        env_secret="headrace-s3",
        namespace="ml",
    )
    objects = objects_of(compiled_step(tmp_path, lambda task, pvc: None), settings)
    check_kubernetes(objects)
    assert {o["metadata"]["namespace"] for o in objects} == {"ml"}
    pod = pod_of(objects)
    (init,) = pod["initContainers"]
    assert init["image"] == "registry.example/headrace:1"
    assert init["command"] == ["cp", "-a", "/opt/hr/.", "/headrace/install/"]
    main = pod["containers"][0]
    assert main["command"][0] == "/opt/hr/bin/headrace-executor"
    assert {"name": "headrace-executor", "mountPath": "/opt/hr"} in main["volumeMounts"]
    assert pod["serviceAccountName"] == "runner"
    assert {"name": "HEADRACE_ARTIFACTS", "value": "s3://bucket/headrace"} in main["env"]
    assert main["envFrom"] == [{"secretRef": {"name": "headrace-s3"}}]


def test_cpu_memory_and_gpu_requests_and_limits(tmp_path: Path, check_kubernetes: Check) -> None:
    def configure(task: Any, pvc: Any) -> None:
        task.set_cpu_request("500m").set_cpu_limit("2")
        task.set_memory_request("1Gi").set_memory_limit("4Gi")
        task.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(2)

    step = compiled_step(tmp_path, configure)
    step = step.model_copy(
        update={
            "resources": Resources(
                cpu_request="500m",
                cpu_limit="2",
                memory_request="1Gi",
                memory_limit="4Gi",
                gpu=2,
                accelerator_type="nvidia.com/gpu",
                accelerator_count=2,
            )
        }
    )
    objects = objects_of(step)
    check_kubernetes(objects)
    assert container_of(objects)["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "2"},
    }


# One case per kfp-kubernetes setting: (configure the task, check the pod spec).
FEATURES: dict[str, tuple[Configure, Callable[[dict[str, Any], dict[str, Any]], None]]] = {
    "node selector": (
        lambda t, p: kubernetes.add_node_selector(t, "disk", "ssd"),
        lambda pod, c: _eq(pod["nodeSelector"], {"disk": "ssd"}),
    ),
    "toleration": (
        lambda t, p: kubernetes.add_toleration(
            t, key="gpu", operator="Equal", value="yes", effect="NoSchedule", toleration_seconds=30
        ),
        lambda pod, c: _eq(
            pod["tolerations"],
            [
                {
                    "key": "gpu",
                    "operator": "Equal",
                    "value": "yes",
                    "effect": "NoSchedule",
                    "tolerationSeconds": 30,
                }
            ],
        ),
    ),
    "secret as env": (
        lambda t, p: kubernetes.use_secret_as_env(
            t, secret_name="creds", secret_key_to_env={"user": "DB_USER"}
        ),
        lambda pod, c: _has(
            c["env"],
            {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}},
        ),
    ),
    "secret as volume": (
        lambda t, p: kubernetes.use_secret_as_volume(
            t, secret_name="tls", mount_path="/tls", optional=True
        ),
        lambda pod, c: _mounted(
            pod, c, "/tls", {"secret": {"secretName": "tls", "optional": True}}
        ),
    ),
    "config map as env": (
        lambda t, p: kubernetes.use_config_map_as_env(
            t, config_map_name="cfg", config_map_key_to_env={"k": "K"}
        ),
        lambda pod, c: _has(
            c["env"], {"name": "K", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}
        ),
    ),
    "config map as volume": (
        lambda t, p: kubernetes.use_config_map_as_volume(
            t, config_map_name="cfgv", mount_path="/cfg"
        ),
        lambda pod, c: _mounted(pod, c, "/cfg", {"configMap": {"name": "cfgv"}}),
    ),
    "pvc (constant)": (
        lambda t, p: kubernetes.mount_pvc(t, pvc_name="fixed", mount_path="/data"),
        lambda pod, c: _mounted(pod, c, "/data", {"persistentVolumeClaim": {"claimName": "fixed"}}),
    ),
    "image pull secret and policy": (
        lambda t, p: (
            kubernetes.set_image_pull_secrets(t, ["regcred"]),
            kubernetes.set_image_pull_policy(t, "Always"),
        ),
        lambda pod, c: (
            _eq(pod["imagePullSecrets"], [{"name": "regcred"}]),
            _eq(c["imagePullPolicy"], "Always"),
        ),
    ),
    "active deadline": (
        lambda t, p: kubernetes.set_timeout(t, 600),
        lambda pod, c: None,  # checked on the Job below
    ),
    "pod labels and annotations": (
        lambda t, p: (
            kubernetes.add_pod_label(t, "team", "ml"),
            kubernetes.add_pod_annotation(t, "a", "b"),
        ),
        lambda pod, c: None,  # checked on the template below
    ),
    "field path as env": (
        lambda t, p: kubernetes.use_field_path_as_env(t, "POD_NAME", "metadata.name"),
        lambda pod, c: _has(
            c["env"],
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ),
    ),
    "empty dir": (
        lambda t, p: kubernetes.empty_dir_mount(
            t, volume_name="scratch", mount_path="/scratch", medium="Memory", size_limit="1Gi"
        ),
        lambda pod, c: _mounted(
            pod, c, "/scratch", {"emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}
        ),
    ),
    "ephemeral volume": (
        lambda t, p: kubernetes.add_ephemeral_volume(
            t, volume_name="eph", mount_path="/eph", access_modes=["ReadWriteOnce"], size="5Gi"
        ),
        lambda pod, c: _mounted(
            pod,
            c,
            "/eph",
            {
                "ephemeral": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "5Gi"}},
                        }
                    }
                }
            },
        ),
    ),
    "security context": (
        lambda t, p: kubernetes.set_security_context(t, run_as_user=1000, run_as_non_root=True),
        lambda pod, c: _eq(c["securityContext"], {"runAsUser": 1000, "runAsNonRoot": True}),
    ),
    "node selector json": (
        lambda t, p: kubernetes.add_node_selector_json(t, {"pool": "a100"}),
        lambda pod, c: _eq(pod["nodeSelector"], {"pool": "a100"}),
    ),
    "toleration json": (
        lambda t, p: kubernetes.add_toleration_json(
            t, {"key": "spot", "operator": "Exists", "effect": "NoSchedule"}
        ),
        lambda pod, c: _eq(
            pod["tolerations"], [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]
        ),
    ),
    "node affinity": (
        lambda t, p: kubernetes.add_node_affinity(
            t, match_expressions=[{"key": "zone", "operator": "In", "values": ["a"]}]
        ),
        lambda pod, c: _eq(
            pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            },
        ),
    ),
    "preferred node affinity": (
        lambda t, p: kubernetes.add_node_affinity(
            t, match_expressions=[{"key": "zone", "operator": "In", "values": ["b"]}], weight=50
        ),
        lambda pod, c: _eq(
            pod["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0][
                "weight"
            ],
            50,
        ),
    ),
}


def _eq(got: Any, want: Any) -> None:
    assert got == want


def _has(items: list[Any], want: Any) -> None:
    assert want in items, items


def _mounted(
    pod: dict[str, Any], container: dict[str, Any], path: str, source: dict[str, Any]
) -> None:
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == path]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert {k: v for k, v in volume.items() if k != "name"} == source


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_each_platform_setting_is_applied(
    tmp_path: Path, check_kubernetes: Check, feature: str
) -> None:
    configure, expect = FEATURES[feature]
    objects = objects_of(compiled_step(tmp_path, configure))
    check_kubernetes(objects)
    expect(pod_of(objects), container_of(objects))
    job = objects[-1]
    if feature == "active deadline":
        assert job["spec"]["activeDeadlineSeconds"] == 600
    if feature == "pod labels and annotations":
        template = job["spec"]["template"]["metadata"]
        assert template["labels"]["team"] == "ml"
        assert template["annotations"]["a"] == "b"
        assert template["labels"][LABEL_MANAGED_BY] == "headrace"


def test_every_setting_at_once(tmp_path: Path, check_kubernetes: Check) -> None:
    # Alternatives of one setting (kfp keeps the last): the plain forms only.
    skip = {"preferred node affinity", "node selector json", "toleration json"}

    def configure(task: Any, pvc: Any) -> None:
        for name, (feature_configure, _) in FEATURES.items():
            if name not in skip:
                feature_configure(task, pvc)

    objects = objects_of(compiled_step(tmp_path, configure))
    check_kubernetes(objects)
    pod, main = pod_of(objects), container_of(objects)
    for name, (_, expect) in FEATURES.items():
        if name not in skip:
            expect(pod, main)


def test_shared_memory_is_a_memory_volume_at_dev_shm(
    tmp_path: Path, check_kubernetes: Check
) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: None)
    shared = {"enabledSharedMemory": {"volumeName": "shm", "size": "2Gi"}}
    objects = objects_of(step.model_copy(update={"platform": shared}))
    check_kubernetes(objects)
    _mounted(
        pod_of(objects),
        container_of(objects),
        "/dev/shm",
        {"emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
    )


def test_a_pvc_named_by_a_pipeline_parameter_the_step_received(
    tmp_path: Path, check_kubernetes: Check
) -> None:
    def configure(task: Any, pvc: Any) -> None:
        kubernetes.mount_pvc(task, pvc_name=pvc, mount_path="/data")

    step = compiled_step(tmp_path, configure, parameters={"pvc": "team-data"})
    objects = objects_of(step)
    check_kubernetes(objects)
    _mounted(
        pod_of(objects),
        container_of(objects),
        "/data",
        {"persistentVolumeClaim": {"claimName": "team-data"}},
    )
    with pytest.raises(ManifestUnsupported) as refused:
        objects_of(compiled_step(tmp_path, configure))
    assert "platform.pvcMount[0].pvcNameParameter.componentInputParameter" in str(refused.value)
    assert "names pipeline parameter 'pvc'" in str(refused.value)


def test_unsupported_settings_are_refused_naming_each_path(tmp_path: Path) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: kubernetes.add_node_selector(task, "a", "b"))
    platform = {
        **step.platform,
        "podAffinity": [{"topologyKey": "zone", "matchPodLabels": {"app": "x"}}],
        "nodeSelector": {"labels": {"a": "b"}, "bogus": 1},
        "nodeAffinity": [{"nodeAffinityJson": {"componentInputParameter": "affinity"}}],
        "secretAsEnv": [
            {
                "secretNameParameter": {
                    "taskOutputParameter": {"producerTask": "make", "outputParameterKey": "name"}
                },
                "keyToEnv": [{"secretKey": "k", "envVar": "K"}],
            }
        ],
        "imagePullPolicy": "Sometimes",
    }
    bad = step.model_copy(
        update={
            "platform": platform,
            "resources": Resources(gpu=1, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1),
        }
    )
    with pytest.raises(ManifestUnsupported) as refused:
        objects_of(bad)
    error = refused.value
    assert isinstance(error, StepError)  # the launcher turns it into StepFailed
    paths = [path for path, _ in error.problems]
    assert paths == [
        "platform.nodeSelector.bogus",
        "platform.nodeAffinity[0].nodeAffinityJson",
        "platform.secretAsEnv[0].secretNameParameter.taskOutputParameter",
        "platform.imagePullPolicy",
        "platform.podAffinity",
        "resources.accelerator.type",
    ]
    text = str(error)
    assert text.startswith("step 'train' cannot run on Kubernetes: ")
    assert "'NVIDIA_TESLA_T4' is not a Kubernetes resource name" in text
    assert "'Sometimes': use Always, IfNotPresent, Never" in text


def test_a_step_without_an_image_or_with_a_bad_quantity_is_refused(tmp_path: Path) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: None)
    bad = step.model_copy(
        update={
            "executor": {"container": {"command": ["true"]}},
            "resources": Resources(cpu_limit="two"),
        }
    )
    with pytest.raises(ManifestUnsupported) as refused:
        objects_of(bad)
    assert refused.value.problems == [
        ("executor.container.image", "is required on Kubernetes: give the image"),
        ("resources.cpuLimit", "'two' is not a Kubernetes quantity: write it like 500m or 4Gi"),
    ]


def test_long_and_odd_ids_get_valid_deterministic_distinct_names(
    tmp_path: Path, check_kubernetes: Check
) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: None)
    long_run = "Run_" + "x" * 90
    names = []
    for step_id in ("root/for-loop-2[3]/train", "root-for-loop-2-3-train"):
        long = step.model_copy(update={"run_id": long_run, "step_id": step_id})
        objects = objects_of(long)
        check_kubernetes(objects)
        again = objects_of(long)
        assert [o["metadata"]["name"] for o in objects] == [o["metadata"]["name"] for o in again]
        assert objects[-1]["metadata"]["annotations"]["headrace.io/step-id"] == step_id
        names.append(objects[-1]["metadata"]["name"])
        assert all(len(o["metadata"]["name"]) <= 63 for o in objects)
    assert names[0] != names[1]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_BACKEND", "kubernetes")
    monkeypatch.setenv("HEADRACE_KUBERNETES_NAMESPACE", "ml")
    monkeypatch.setenv("HEADRACE_KUBERNETES_GANG_SCHEDULER", "volcano")
    settings = KubernetesSettings()
    assert (settings.backend, settings.namespace, settings.pod_scheduler) == (
        "kubernetes",
        "ml",
        "volcano",
    )
    assert settings.namespace_for("team-a") == "ml"
    monkeypatch.setenv("HEADRACE_KUBERNETES_NAMESPACE", "Not_A_Namespace")
    with pytest.raises(ValueError, match="is not a Kubernetes namespace name"):
        KubernetesSettings()
    monkeypatch.delenv("HEADRACE_KUBERNETES_NAMESPACE")
    monkeypatch.setenv("HEADRACE_KUBERNETES_EXECUTOR_PATH", "opt/headrace")
    with pytest.raises(ValueError, match="is not an absolute path"):
        KubernetesSettings()
    monkeypatch.setenv("HEADRACE_KUBERNETES_EXECUTOR_PATH", "/opt/headrace")
    monkeypatch.setenv("HEADRACE_BACKEND", "docker")
    with pytest.raises(ValueError, match="'local' or 'kubernetes'"):
        KubernetesSettings()


TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
LAUNCH = {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01", "tracestate": "vendor=one"}


def test_the_pod_continues_the_trace_of_the_step_s_launch(
    tmp_path: Path, check_kubernetes: Check
) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: None)
    settings = KubernetesSettings(otlp_endpoint="http://collector.observability:4318")
    objects = step_manifests(step, settings, trace_context=LAUNCH).to_dicts()
    check_kubernetes(objects)
    env = {e["name"]: e["value"] for e in container_of(objects)["env"]}
    assert env["TRACEPARENT"] == LAUNCH["traceparent"]
    assert env["TRACEPARENT"].split("-")[1] == TRACE_ID
    assert env["TRACESTATE"] == "vendor=one"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector.observability:4318"


def test_without_a_valid_launch_context_the_pod_gets_no_traceparent(tmp_path: Path) -> None:
    step = compiled_step(tmp_path, lambda task, pvc: None)
    for context in (None, {}, {"traceparent": "00-not-a-trace-01"}):
        objects = step_manifests(step, KubernetesSettings(), trace_context=context).to_dicts()
        names = {e["name"] for e in container_of(objects)["env"]}
        assert not names & {"TRACEPARENT", "TRACESTATE", "OTEL_EXPORTER_OTLP_ENDPOINT"}


def test_the_trainer_s_otlp_endpoint_is_the_pods_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318")
    assert KubernetesSettings().otlp_endpoint == "http://otel:4318"
    monkeypatch.setenv("HEADRACE_KUBERNETES_OTLP_ENDPOINT", "http://in-cluster:4318")
    assert KubernetesSettings().otlp_endpoint == "http://in-cluster:4318"
