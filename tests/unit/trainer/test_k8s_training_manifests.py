"""Training jobs as Kubernetes objects: Indexed Jobs, a headless Service, the same replica
environment as `distributed_env` gives locally, checked against the API schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from headrace_contracts.kubeflow import TrainingJobSpec, load_training_jobs
from headrace_trainer.backends.kubernetes import KubernetesSettings
from headrace_trainer.backends.kubernetes.manifests import (
    INDEX_ANNOTATION,
    LABEL_JOB,
    LABEL_MANAGED_BY,
    LABEL_REPLICA,
    POD_GROUP_ANNOTATION,
    POD_GROUP_LABEL,
    training_manifests,
)
from headrace_trainer.errors import ManifestUnsupported
from headrace_trainer.jobs import Endpoint, distributed_env

Check = Callable[[list[dict[str, Any]]], None]


def container(image: str = "pytorch/pytorch:2.3.0", resources: str = "", extra: str = "") -> str:
    return (
        f"          containers:\n            - name: pytorch\n              image: {image}\n"
        "              command: [python, train.py]\n              args: [--epochs, '2']\n"
        "              env: [{name: RANK, value: '99'}, {name: DATA, value: /data}]\n"
        + (f"              resources: {resources}\n" if resources else "")
        + extra
    )


def pytorch_job(
    name: str = "ddp", workers: int = 1, resources: str = "", image: str = "pytorch/pytorch:2.3.0"
) -> str:
    def group(kind: str, count: int) -> str:
        return (
            f"    {kind}:\n      replicas: {count}\n      template:\n        spec:\n"
            + container(image, resources)
        )

    return (
        "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\n"
        f"metadata: {{name: {name}, namespace: team-a}}\nspec:\n  pytorchReplicaSpecs:\n"
        f"{group('Master', 1)}{group('Worker', workers)}"
    )


TFJOB = """
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: mnist}
spec:
  tfReplicaSpecs:
    Chief:
      replicas: 1
      template:
        spec:
          containers:
            - name: tensorflow
              image: tensorflow/tensorflow:2.16.1
              command: [python, train.py]
    Worker:
      replicas: 1
      template:
        spec:
          containers:
            - name: tensorflow
              image: tensorflow/tensorflow:2.16.1
              command: [python, train.py]
"""

TRAINJOB = """
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: llm}
spec:
  runtimeRef: {name: torch-distributed}
  trainer:
    numNodes: 2
    numProcPerNode: 4
    image: pytorch/pytorch:2.3.0
    command: [torchrun, train.py]
    resourcesPerNode:
      limits: {nvidia.com/gpu: 4, cpu: "8", memory: 32Gi}
"""


def job_of(text: str) -> TrainingJobSpec:
    (job,) = load_training_jobs(text)
    return job


def objects_of(
    job: TrainingJobSpec, settings: KubernetesSettings | None = None
) -> list[dict[str, Any]]:
    return training_manifests(job, settings or KubernetesSettings()).to_dicts()


def jobs_of(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["labels"][LABEL_REPLICA]: o for o in objects if o["kind"] == "Job"}


def endpoints_of(
    objects: list[dict[str, Any]], job: TrainingJobSpec, port: int
) -> dict[str, list[Endpoint]]:
    """The hostnames Kubernetes gives the pods: ``<job name>-<index>.<subdomain>``."""
    out: dict[str, list[Endpoint]] = {}
    for role, built in jobs_of(objects).items():
        pod = built["spec"]["template"]["spec"]
        name = built["metadata"]["name"]
        out[role] = [
            Endpoint(f"{name}-{i}.{pod['subdomain']}", port)
            for i in range(built["spec"]["completions"])
        ]
    return out


def replica_env(built: dict[str, Any], index: int) -> dict[str, str]:
    """What replica ``index`` of an Indexed Job really starts with: the template's env (a
    completion-index reference resolved as the downward API does) and, when its command is
    Headrace's wrapper, what ``/bin/sh`` exports before it runs the command."""
    main = built["spec"]["template"]["spec"]["containers"][0]
    env = {"JOB_COMPLETION_INDEX": str(index), "PATH": os.environ["PATH"]}
    for variable in main.get("env") or []:
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            path = variable["valueFrom"]["fieldRef"]["fieldPath"]
            assert path == f"metadata.annotations['{INDEX_ANNOTATION}']"
            env[variable["name"]] = str(index)
    command = main["command"]
    if command[0] != "/bin/sh":
        return {k: v for k, v in env.items() if k not in ("JOB_COMPLETION_INDEX", "PATH")}
    assert "args" not in main  # the wrapper runs command and args
    show = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    ran = subprocess.run([*command[:4], *show], env=env, capture_output=True, text=True, check=True)
    seen: dict[str, str] = json.loads(ran.stdout)
    return {
        k: v
        for k, v in seen.items()
        if k not in ("JOB_COMPLETION_INDEX", "PATH", "PWD", "SHLVL", "_", "LC_CTYPE")
    }


def assert_same_env_as_locally(
    objects: list[dict[str, Any]], job: TrainingJobSpec, port: int
) -> None:
    endpoints = endpoints_of(objects, job, port)
    for group in job.replicas:
        built = jobs_of(objects)[group.role]
        for index in range(group.count):
            want = {e.name: e.value for e in group.container.env}
            want.update(distributed_env(job, group.role, index, endpoints))  # type: ignore[arg-type]
            assert replica_env(built, index) == want, f"{group.role}-{index}"


def test_a_two_replica_pytorchjob(check_kubernetes: Check) -> None:
    job = job_of(
        pytorch_job(workers=1, resources="{limits: {nvidia.com/gpu: 2, cpu: '4', memory: 8Gi}}")
    )
    objects = objects_of(job)
    check_kubernetes(objects)
    assert [o["kind"] for o in objects] == ["ConfigMap", "Service", "Job", "Job"]
    parent, service = objects[0], objects[1]
    assert parent["metadata"]["name"] == "headrace-job-ddp"
    for obj in objects:
        assert obj["metadata"]["namespace"] == "team-a"
        assert obj["metadata"]["labels"][LABEL_MANAGED_BY] == "headrace"
        assert obj["metadata"]["labels"][LABEL_JOB] == "ddp"
    for child in objects[1:]:
        (owner,) = child["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"]) == ("ConfigMap", "headrace-job-ddp")
    assert service["spec"] == {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "selector": {LABEL_MANAGED_BY: "headrace", LABEL_JOB: "ddp"},
        "ports": [{"name": "pytorchjob-port", "port": 23456, "targetPort": 23456}],
    }
    built = jobs_of(objects)
    assert [b["metadata"]["name"] for b in built.values()] == ["ddp-master", "ddp-worker"]
    for role, one in built.items():
        assert one["metadata"]["labels"]["headrace.io/attempt"] == "1"
        spec = one["spec"]
        assert (
            spec["completions"],
            spec["parallelism"],
            spec["completionMode"],
            spec["backoffLimit"],
        ) == (
            1,
            1,
            "Indexed",
            0,
        )
        pod = spec["template"]
        labels = pod["metadata"]["labels"]
        assert all(
            labels[k] == v for k, v in service["spec"]["selector"].items()
        )  # the Service finds it
        assert labels[LABEL_REPLICA] == role
        assert pod["spec"]["restartPolicy"] == "Never"
        assert pod["spec"]["subdomain"] == "ddp"
        main = pod["spec"]["containers"][0]
        assert main["resources"] == {"limits": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "2"}}
        assert main["ports"] == [{"name": "pytorchjob-port", "containerPort": 23456}]
    master_env = {
        e["name"]: e.get("value")
        for e in built["master"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert master_env["MASTER_ADDR"] == "ddp-master-0.ddp"
    assert master_env["MASTER_PORT"] == "23456"
    assert master_env["WORLD_SIZE"] == "2"
    assert master_env["PET_NPROC_PER_NODE"] == "2"  # auto: one per GPU
    assert_same_env_as_locally(objects, job, 23456)


def test_an_attempt_labels_the_jobs_and_pods_but_not_the_service_selector(
    check_kubernetes: Check,
) -> None:
    job = job_of(pytorch_job())
    objects = training_manifests(job, KubernetesSettings(), attempt=3).to_dicts()
    check_kubernetes(objects)
    for built in jobs_of(objects).values():
        assert built["metadata"]["labels"]["headrace.io/attempt"] == "3"
        assert built["spec"]["template"]["metadata"]["labels"]["headrace.io/attempt"] == "3"
    assert "headrace.io/attempt" not in objects[1]["spec"]["selector"]


def test_workers_of_a_pytorchjob_get_their_own_rank_through_the_wrapper(
    check_kubernetes: Check,
) -> None:
    job = job_of(pytorch_job(workers=3))
    objects = objects_of(job)
    check_kubernetes(objects)
    worker = jobs_of(objects)["worker"]
    assert worker["spec"]["completions"] == worker["spec"]["parallelism"] == 3
    assert [replica_env(worker, i)["RANK"] for i in range(3)] == ["1", "2", "3"]
    command = worker["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[3:] == ["headrace-replica", "python", "train.py", "--epochs", "2"]
    assert_same_env_as_locally(objects, job, 23456)


def test_a_two_replica_tfjob_gets_tf_config_with_hostnames(check_kubernetes: Check) -> None:
    job = job_of(TFJOB)
    objects = objects_of(job)
    check_kubernetes(objects)
    assert objects[1]["spec"]["ports"] == [{"name": "tfjob-port", "port": 2222, "targetPort": 2222}]
    worker = jobs_of(objects)["worker"]
    config = json.loads(replica_env(worker, 0)["TF_CONFIG"])
    assert config == {
        "cluster": {"chief": ["mnist-chief-0.mnist:2222"], "worker": ["mnist-worker-0.mnist:2222"]},
        "task": {"type": "worker", "index": 0},
        "environment": "cloud",
    }
    assert worker["spec"]["template"]["spec"]["containers"][0]["name"] == "tensorflow"
    assert_same_env_as_locally(objects, job, 2222)


def test_a_multi_worker_tfjob_gets_each_worker_its_task_index(check_kubernetes: Check) -> None:
    job = job_of(TFJOB.replace("    Worker:\n      replicas: 1", "    Worker:\n      replicas: 3"))
    objects = objects_of(job)
    check_kubernetes(objects)
    worker = jobs_of(objects)["worker"]
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"][0] == "/bin/sh"
    tasks = [json.loads(replica_env(worker, i)["TF_CONFIG"])["task"] for i in range(3)]
    assert tasks == [{"type": "worker", "index": i} for i in range(3)]
    assert_same_env_as_locally(objects, job, 2222)


def test_a_two_node_trainjob_reads_its_node_rank_from_the_completion_index(
    check_kubernetes: Check,
) -> None:
    job = job_of(TRAINJOB)
    objects = objects_of(job)
    check_kubernetes(objects)
    (node,) = jobs_of(objects).values()
    main = node["spec"]["template"]["spec"]["containers"][0]
    assert main["name"] == "node"
    assert main["command"] == ["torchrun", "train.py"]  # nothing differs but the index: no wrapper
    rank = {e["name"]: e for e in main["env"]}["PET_NODE_RANK"]
    assert rank["valueFrom"] == {
        "fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}
    }
    assert main["resources"] == {"limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "4"}}
    assert replica_env(node, 1)["MASTER_ADDR"] == "llm-node-0.llm"
    assert replica_env(node, 1)["WORLD_SIZE"] == "8"
    assert_same_env_as_locally(objects, job, 23456)


@pytest.mark.parametrize(
    ("scheduler", "api", "where"),
    [
        ("scheduler-plugins", "scheduling.x-k8s.io/v1alpha1", "labels"),
        ("volcano", "scheduling.volcano.sh/v1beta1", "annotations"),
    ],
)
def test_a_gang_scheduler_gets_a_pod_group_of_every_replica(
    check_kubernetes: Check, scheduler: str, api: str, where: str
) -> None:
    job = job_of(pytorch_job(workers=3))
    objects = objects_of(job, KubernetesSettings(gang_scheduler=scheduler))  # type: ignore[arg-type]
    check_kubernetes(objects)
    (group,) = [o for o in objects if o["kind"] == "PodGroup"]
    assert group["apiVersion"] == api
    assert group["spec"] == {"minMember": 4}
    assert group["metadata"]["ownerReferences"][0]["name"] == "headrace-job-ddp"
    key = POD_GROUP_LABEL if scheduler == "scheduler-plugins" else POD_GROUP_ANNOTATION
    for built in jobs_of(objects).values():
        template = built["spec"]["template"]
        assert template["metadata"][where][key] == group["metadata"]["name"]
        assert template["spec"].get("schedulerName") == (
            "volcano" if scheduler == "volcano" else None
        )
    assert [o["kind"] for o in objects_of(job)].count("PodGroup") == 0  # none when not configured


def test_long_job_names_keep_every_hostname_a_dns_label(check_kubernetes: Check) -> None:
    name = "a" + "b" * 61  # 62 characters: a valid job name, too long once '-worker-11' is added
    job = job_of(pytorch_job(name=name, workers=12))
    objects = objects_of(job)
    check_kubernetes(objects)
    assert objects_of(job) == objects  # deterministic
    for built in jobs_of(objects).values():
        last = built["spec"]["completions"] - 1
        assert len(f"{built['metadata']['name']}-{last}") <= 63
    assert_same_env_as_locally(objects, job, 23456)


def test_a_confined_namespace_prefixes_names_with_the_headrace_namespace(
    check_kubernetes: Check,
) -> None:
    objects = objects_of(job_of(pytorch_job()), KubernetesSettings(namespace="ml"))
    check_kubernetes(objects)
    assert {o["metadata"]["namespace"] for o in objects} == {"ml"}
    assert objects[1]["metadata"]["name"] == "team-a-ddp"
    assert [b["metadata"]["name"] for b in jobs_of(objects).values()] == [
        "team-a-ddp-master",
        "team-a-ddp-worker",
    ]


def test_a_replica_without_an_image_or_a_command_to_wrap_is_refused() -> None:
    no_image = job_of(pytorch_job().replace("image: pytorch/pytorch:2.3.0", "image: ''"))
    with pytest.raises(ManifestUnsupported) as refused:
        objects_of(no_image)
    assert [path for path, _ in refused.value.problems] == [
        "replicas.Master.image",
        "replicas.Worker.image",
    ]
    assert "training job team-a/ddp cannot run on Kubernetes" in str(refused.value)

    entrypoint = job_of(
        pytorch_job(workers=2).replace("              command: [python, train.py]\n", "")
    )
    with pytest.raises(ManifestUnsupported) as refused:
        objects_of(entrypoint)
    ((path, message),) = refused.value.problems
    assert path == "replicas.Worker.command"
    assert "differs by index (PET_NODE_RANK, RANK)" in message


def test_every_replica_pod_continues_the_trace_kept_with_the_job(check_kubernetes: Check) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    kept = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    job = job_of(pytorch_job(workers=2))
    settings = KubernetesSettings(otlp_endpoint="http://collector:4318")
    objects = training_manifests(job, settings, trace_context=kept).to_dicts()
    check_kubernetes(objects)
    for role, built in jobs_of(objects).items():
        env = {
            e["name"]: e.get("value")
            for e in built["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["TRACEPARENT"] == kept["traceparent"], role
        assert env["TRACEPARENT"].split("-")[1] == trace_id
        assert "TRACESTATE" not in env
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert_same_env_as_locally(training_manifests(job, KubernetesSettings()).to_dicts(), job, 23456)


def test_a_job_kept_with_no_trace_gives_its_pods_no_traceparent() -> None:
    job = job_of(pytorch_job())
    for built in jobs_of(training_manifests(job, KubernetesSettings()).to_dicts()).values():
        names = {e["name"] for e in built["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert "TRACEPARENT" not in names
