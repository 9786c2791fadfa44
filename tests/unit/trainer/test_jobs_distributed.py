"""The environment of each replica, as training-operator v1 / Trainer v2 set it."""

from __future__ import annotations

import json

import pytest

from headrace_contracts.kubeflow import TrainingJobSpec, load_training_jobs
from headrace_trainer.jobs import Endpoint, distributed_env, resolve_nproc, world_size_nproc


def job_of(text: str) -> TrainingJobSpec:
    (job,) = load_training_jobs(text)
    return job


def pytorch(workers: int = 2, master: bool = True, top: str = "", resources: str = "") -> str:
    def group(kind: str, count: int) -> str:
        return (
            f"    {kind}:\n      replicas: {count}\n      template:\n        spec:\n"
            "          containers:\n            - name: pytorch\n"
            "              command: [python, train.py]\n"
            + (f"              resources: {resources}\n" if resources else "")
        )

    groups = (group("Master", 1) if master else "") + group("Worker", workers)
    return (
        "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: ddp}\nspec:\n"
        f"{top}  pytorchReplicaSpecs:\n{groups}"
    )


def ports(job: TrainingJobSpec, base: int = 30000) -> dict[str, list[Endpoint]]:
    out: dict[str, list[Endpoint]] = {}
    for n, (role, _index) in enumerate(job.replica_names()):
        out.setdefault(role, []).append(Endpoint("127.0.0.1", base + n))
    return out  # type: ignore[return-value]


def test_master_and_workers_get_torchrun_env() -> None:
    job = job_of(pytorch(workers=2, top='  nprocPerNode: "2"\n'))
    endpoints = ports(job)
    master = distributed_env(job, "master", 0, endpoints)
    worker1 = distributed_env(job, "worker", 1, endpoints)
    assert master["MASTER_ADDR"] == worker1["MASTER_ADDR"] == "127.0.0.1"
    assert master["MASTER_PORT"] == worker1["PET_MASTER_PORT"] == "30000"
    assert master["WORLD_SIZE"] == "6"  # 3 replicas x nprocPerNode 2, as Kubeflow
    assert (master["RANK"], worker1["RANK"], worker1["PET_NODE_RANK"]) == ("0", "2", "2")
    assert worker1["PET_NNODES"] == "3"
    assert worker1["PET_NPROC_PER_NODE"] == "2"
    assert worker1["LOCAL_RANK"] == "0"
    assert worker1["PYTHONUNBUFFERED"] == "1"


def test_auto_counts_one_in_world_size_and_resolves_per_cpu() -> None:
    job = job_of(pytorch(workers=1, resources="{limits: {cpu: 1500m}}"))
    env = distributed_env(job, "worker", 0, ports(job))
    assert env["WORLD_SIZE"] == "2"  # auto counts as 1 (getNprocPerNodeInt)
    assert env["PET_NPROC_PER_NODE"] == "2"  # ceil(1.5 CPUs), never the host's CPUs


def test_worker_only_job_uses_worker_zero_as_master() -> None:
    job = job_of(pytorch(workers=2, master=False))
    endpoints = ports(job)
    env = distributed_env(job, "worker", 1, endpoints)
    assert env["MASTER_PORT"] == str(endpoints["worker"][0].port)  # type: ignore[index]
    assert (env["RANK"], env["WORLD_SIZE"]) == ("1", "2")


def test_elastic_env() -> None:
    job = job_of(pytorch(master=False, top="  elasticPolicy: {minReplicas: 1, maxReplicas: 3, "
                         "maxRestarts: 4, rdzvId: run-1}\n"))  # fmt: skip
    env = distributed_env(job, "worker", 0, ports(job))
    assert env["PET_NNODES"] == "1:3"
    assert env["PET_RDZV_ENDPOINT"] == "127.0.0.1:30000"
    assert (env["PET_RDZV_BACKEND"], env["PET_MAX_RESTARTS"], env["PET_RDZV_ID"]) == (
        "c10d", "4", "run-1",
    )  # fmt: skip


def test_trainjob_nodes() -> None:
    job = job_of(
        "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: t}\n"
        "spec:\n  runtimeRef: {name: torch-distributed}\n  trainer:\n    numNodes: 2\n"
        "    numProcPerNode: 3\n    command: [torchrun, train.py]\n"
    )
    env = distributed_env(job, "node", 1, ports(job))
    assert (env["PET_NNODES"], env["PET_NPROC_PER_NODE"], env["PET_NODE_RANK"]) == ("2", "3", "1")
    assert (env["PET_MASTER_PORT"], env["WORLD_SIZE"], env["RANK"]) == ("30000", "6", "1")


TFJOB = """
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: tf}
spec:
  tfReplicaSpecs:
"""


def tf_group(kind: str, count: int) -> str:
    return (
        f"    {kind}:\n      replicas: {count}\n      template:\n        spec:\n"
        "          containers: [{name: tensorflow, command: [python, t.py]}]\n"
    )


def test_tf_config_lists_the_cluster_and_the_task() -> None:
    job = job_of(TFJOB + tf_group("Chief", 1) + tf_group("PS", 1) + tf_group("Worker", 2))
    env = distributed_env(job, "worker", 1, ports(job))
    config = json.loads(env["TF_CONFIG"])
    assert config == {
        "cluster": {
            "chief": ["127.0.0.1:30000"],
            "ps": ["127.0.0.1:30001"],
            "worker": ["127.0.0.1:30002", "127.0.0.1:30003"],
        },
        "task": {"type": "worker", "index": 1},
        "environment": "cloud",
    }
    assert "MASTER_ADDR" not in env


def test_single_replica_tfjob_gets_no_tf_config() -> None:
    job = job_of(TFJOB + tf_group("Worker", 1))
    assert "TF_CONFIG" not in distributed_env(job, "worker", 0, ports(job))


def test_missing_endpoints_and_replicas_are_named() -> None:
    job = job_of(pytorch(workers=2))
    with pytest.raises(ValueError, match="2 worker replicas but 1 endpoints"):
        distributed_env(
            job, "master", 0, {"master": [Endpoint("h", 1)], "worker": [Endpoint("h", 2)]}
        )
    with pytest.raises(ValueError, match="no replica worker-5"):
        distributed_env(job, "worker", 5, ports(job))


@pytest.mark.parametrize(
    ("top", "resources", "expected"),
    [
        ('  nprocPerNode: "4"\n', "", 4),
        ("", "", 1),
        ("  nprocPerNode: auto\n", "{limits: {nvidia.com/gpu: 2, cpu: 8}}", 2),
        ("  nprocPerNode: auto\n", "{limits: {cpu: 500m}}", 1),
        ("", "{requests: {cpu: 3}, limits: {cpu: 6}}", 3),
        ("", "{limits: {cpu: 2.5}}", 3),
    ],
)
def test_resolve_nproc(top: str, resources: str, expected: int) -> None:
    job = job_of(pytorch(workers=1, master=False, top=top, resources=resources))
    assert resolve_nproc(job, job.replicas[0]) == expected


def test_world_size_nproc_counts_only_an_explicit_number() -> None:
    assert world_size_nproc(job_of(pytorch(top='  nprocPerNode: "3"\n'))) == 3
    assert world_size_nproc(job_of(pytorch(top="  nprocPerNode: auto\n"))) == 1
