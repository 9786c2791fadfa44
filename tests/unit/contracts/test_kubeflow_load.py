"""Kubeflow YAML -> TrainingJobSpec: the three kinds, their defaults, and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace_contracts.kubeflow import ManifestError, load_training_jobs

FIXTURES = Path(__file__).parent / "kubeflow_yaml"


def load(name: str):  # type: ignore[no-untyped-def]
    (job,) = load_training_jobs((FIXTURES / name).read_text())
    return job


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_training_jobs(text)
    return [str(problem) for problem in caught.value.problems]


PYTORCH = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {{name: tiny}}
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: {replicas}
      template:
        spec:
          containers:
            - name: pytorch
              image: example.org/tiny:1
              command: [python, train.py]
{extra}
"""


def pytorch(replicas: int = 2, extra: str = "") -> str:
    return PYTORCH.format(replicas=replicas, extra=extra)


def test_pytorchjob_master_and_workers() -> None:
    job = load("pytorchjob_gloo.yaml")
    assert (job.kind, job.framework, job.name, job.namespace) == (
        "PyTorchJob", "pytorch", "mnist-gloo", "team-a",
    )  # fmt: skip
    assert job.labels == {"project": "digits"}
    assert job.roles() == ("master", "worker")
    master, worker = job.replicas
    assert (master.count, master.restart_policy, master.replica_type) == (1, "OnFailure", "Master")
    assert master.container.command == ("python", "mnist.py")
    assert master.container.args == ("--backend", "gloo", "--epochs", "2")
    assert master.container.working_dir == "/srv/mnist"
    assert [(e.name, e.value) for e in master.container.env] == [("LOG_LEVEL", "info")]
    assert (master.resources.cpu, master.resources.memory, master.gpus) == ("2", "4Gi", 0)
    assert (worker.count, worker.restart_policy) == (2, "ExitCode")
    assert (worker.resources.cpu, worker.resources.cpu_limit, worker.gpus) == ("500m", "1", 1)
    assert worker.resources.accelerator_type == "nvidia.com/gpu"
    assert job.nproc_per_node == 2
    policy = job.run_policy
    assert (policy.backoff_limit, policy.active_deadline_seconds) == (3, 600)
    assert (policy.clean_pod_policy, policy.ttl_seconds_after_finished) == ("Running", 60)
    assert job.total_replicas == 3
    assert job.replica_names() == [("master", 0), ("worker", 0), ("worker", 1)]


def test_pytorchjob_defaults_follow_kubeflow() -> None:
    (job,) = load_training_jobs(pytorch())
    (worker,) = job.replicas
    assert worker.restart_policy == "OnFailure"
    assert job.run_policy.backoff_limit is None
    assert job.run_policy.clean_pod_policy == "None"
    assert job.nproc_per_node is None
    assert job.namespace == "default"


def test_replica_type_keys_are_case_insensitive_like_kubeflow() -> None:
    (job,) = load_training_jobs(pytorch().replace("Worker:", "worker:"))
    assert job.replicas[0].replica_type == "Worker"


def test_elastic_policy() -> None:
    job = load("pytorchjob_elastic.yaml")
    assert job.elastic is not None
    assert (job.elastic.min_replicas, job.elastic.max_replicas) == (1, 3)
    assert job.elastic.max_restarts == 5
    assert job.group("master") is None


def test_elastic_min_max_default_to_each_other() -> None:
    extra = "  elasticPolicy: {maxReplicas: 4}"
    (job,) = load_training_jobs(pytorch(extra=extra))
    assert job.elastic is not None
    assert (job.elastic.min_replicas, job.elastic.max_replicas) == (4, 4)


def test_tfjob_roles_and_defaults() -> None:
    job = load("tfjob_dist.yaml")
    assert job.framework == "tensorflow"
    assert job.roles() == ("chief", "ps", "worker", "evaluator")
    assert [g.count for g in job.replicas] == [1, 2, 3, 1]
    assert [g.restart_policy for g in job.replicas] == ["Never", "OnFailure", "Never", "Never"]
    assert job.run_policy.backoff_limit == 2
    assert job.success_policy == ""


def test_trainjob_over_torch_distributed() -> None:
    job = load("trainjob_multi_node.yaml")
    assert (job.kind, job.runtime, job.framework) == ("TrainJob", "torch-distributed", "pytorch")
    (node,) = job.replicas
    assert (node.role, node.count) == ("node", 2)
    assert node.container.command == ("torchrun", "train.py")
    assert node.container.args == ("--lr", "0.01")
    assert node.container.image.startswith("pytorch/pytorch:")
    assert node.resources.cpu_limit == "1.5"
    assert job.nproc_per_node == "auto"


def test_many_documents_in_one_text() -> None:
    texts = [p.read_text() for p in sorted(FIXTURES.glob("*.yaml"))]
    jobs = load_training_jobs("\n---\n".join(texts) + "\n---\n")
    assert sorted(j.kind for j in jobs) == ["PyTorchJob", "PyTorchJob", "TFJob", "TrainJob"]


def test_unsupported_fields_are_all_reported_with_their_paths() -> None:
    text = (
        pytorch().replace(
            "          containers:",
            "          nodeSelector: {gpu: a100}\n          volumes: []\n          containers:",
        )
        + "  schedulingPolicy: {minAvailable: 2}\n"
    )
    found = problems(text)
    base = "document 0, spec.pytorchReplicaSpecs.Worker.template.spec"
    assert any(p.startswith(f"{base}.nodeSelector: field 'nodeSelector'") for p in found)
    assert any(p.startswith(f"{base}.volumes:") for p in found)
    assert any(p.startswith("document 0, spec.schedulingPolicy:") for p in found)
    assert all("remove it" in p for p in found)
    assert len(found) == 3


def test_no_op_fields_are_accepted() -> None:
    (job,) = load_training_jobs(load_text("pytorchjob_gloo.yaml"))
    assert job.name == "mnist-gloo"  # imagePullPolicy, ports, annotations accepted


def load_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_invalid_yaml_names_document_and_line() -> None:
    (found,) = problems(pytorch() + "---\nkind: [unclosed\n")
    assert found.startswith("document 1: is not valid YAML at line")


def test_replica_count_below_one() -> None:
    (found,) = problems(pytorch(replicas=0))
    assert "spec.pytorchReplicaSpecs.Worker.replicas" in found
    assert "greater than or equal to 1" in found


def test_master_must_be_single() -> None:
    text = load_text("pytorchjob_gloo.yaml").replace("replicas: 1", "replicas: 2", 1)
    (found,) = problems(text)
    assert "spec.pytorchReplicaSpecs.Master.replicas: must be 1" in found


def test_container_needs_command_or_image() -> None:
    text = (
        pytorch()
        .replace("              image: example.org/tiny:1\n", "")
        .replace("              command: [python, train.py]\n", "")
    )
    (found,) = problems(text)
    assert "containers[0]: has neither command nor image" in found


def test_unknown_kind_and_api_version() -> None:
    (kind,) = problems("apiVersion: kubeflow.org/v1\nkind: MPIJob\nmetadata: {name: a}\n")
    assert kind.startswith("document 0, kind: unknown kind 'MPIJob'")
    (version,) = problems("apiVersion: batch/v1\nkind: Job\n")
    assert version.startswith("document 0, apiVersion: unknown kind 'Job' of apiVersion")


def test_unknown_replica_type() -> None:
    text = pytorch().replace("Worker:", "Launcher:")
    (found,) = problems(text)
    assert "spec.pytorchReplicaSpecs.Launcher: unknown replica type 'Launcher'" in found


def test_tfjob_master_is_refused_in_favour_of_chief() -> None:
    text = load_text("tfjob_dist.yaml").replace("Chief:", "Master:")
    (found,) = problems(text)
    assert "use one of Chief, PS, Worker, Evaluator" in found
    assert "'Chief'" in found


def test_unknown_runtime_names_the_known_ones() -> None:
    text = load_text("trainjob_multi_node.yaml").replace("name: torch-distributed", "name: mpi")
    (found,) = problems(text)
    assert "spec.runtimeRef.name: unknown runtime 'mpi'" in found
    assert "'torch-distributed'" in found


def test_trainjob_refuses_reserved_torchrun_env() -> None:
    text = load_text("trainjob_multi_node.yaml").replace("name: EPOCHS", "name: PET_NNODES")
    (found,) = problems(text)
    assert "spec.trainer.env[0]: PET_NNODES is set by the torch-distributed runtime" in found


def test_bad_quantities_resources_and_env() -> None:
    text = pytorch().replace(
        "              command: [python, train.py]",
        "              command: [python, train.py]\n"
        "              env: [{name: A, value: 1}, {name: B, valueFrom: {fieldRef: {}}}]\n"
        "              resources: {limits: {cpu: lots}, requests: {amd.com/gpu: 1}}",
    )
    found = problems(text)
    joined = "\n".join(found)
    assert "env[0].value: must be a string: quote it ('1')" in joined
    assert "env[1].valueFrom: field 'valueFrom'" in joined
    assert "resources.limits: cpu: 'lots' is not a Kubernetes quantity" in joined
    assert "resources.requests: resource 'amd.com/gpu' is not supported" in joined


def test_gpu_request_must_equal_limit_and_be_whole() -> None:
    text = pytorch().replace(
        "              command: [python, train.py]",
        "              command: [python, train.py]\n"
        "              resources: {limits: {nvidia.com/gpu: 2}, requests: {nvidia.com/gpu: 1}}",
    )
    (found,) = problems(text)
    assert "a GPU request must equal its limit" in found
    half = pytorch().replace(
        "              command: [python, train.py]",
        "              command: [python, train.py]\n"
        "              resources: {limits: {nvidia.com/gpu: 500m}}",
    )
    (found,) = problems(half)
    assert "must be a whole number of GPUs" in found


def test_bad_name_and_nproc() -> None:
    text = pytorch(extra='  nprocPerNode: "many"').replace("name: tiny", "name: Tiny_Job")
    found = problems(text)
    assert any("metadata.name: 'Tiny_Job' is not a DNS-1035 label" in p for p in found)
    text = pytorch(extra='  nprocPerNode: "many"')
    (found_nproc,) = problems(text)
    assert "spec.nprocPerNode: 'many' is not a process count" in found_nproc


def test_sidecar_containers_are_refused() -> None:
    text = pytorch().replace(
        "              command: [python, train.py]",
        "              command: [python, train.py]\n            - name: proxy\n"
        "              image: example.org/proxy:1",
    )
    (found,) = problems(text)
    assert "containers[1]: sidecar containers are not supported locally" in found


def test_duplicate_job_names_across_documents() -> None:
    (found,) = problems(pytorch() + "---\n" + pytorch())
    assert found.startswith("document 1, metadata.name: job default/tiny is also defined")


def test_problems_of_several_documents_come_in_one_error() -> None:
    found = problems(pytorch(replicas=0) + "---\n" + "apiVersion: v1\nkind: Pod\n")
    assert [p.split(",")[0] for p in found] == ["document 0", "document 1"]


def test_empty_text_and_non_mapping() -> None:
    (empty,) = problems("")
    assert "holds no training job" in empty
    (listed,) = problems("- a\n- b\n")
    assert "is a list, not a mapping" in listed
