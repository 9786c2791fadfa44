"""The Kubernetes backend on a real cluster: runs only when ``KUBECONFIG`` is set (skipped
otherwise), in the namespace ``HEADRACE_CLUSTER_NAMESPACE`` (default ``headrace-test``,
created when absent). How to run it: docs/kubernetes.md, "The real-cluster suite".

* a pipeline with a step per backend feature, each to its final state: a step that succeeds
  with its log kept, one that exits 1, one whose image cannot be pulled, one that asks for
  more GPUs than any node has (Unschedulable), one with a platform spec (a node selector on
  the OS label, a toleration and an active deadline). The steps that run
  ``headrace-executor`` need an image holding it (``HEADRACE_CLUSTER_STEP_IMAGE``) and an
  artifact store both the pods and this test reach (``HEADRACE_KUBERNETES_ARTIFACTS``, an
  ``s3://`` URI with ``HEADRACE_S3_*``, and ``HEADRACE_KUBERNETES_ENV_SECRET`` naming a
  Secret with those for the pods); without them those steps are skipped, saying so, and the
  failure features still run;
* a 2-replica PyTorchJob (busybox replicas printing their rank) that succeeds, its logs
  kept in the artifact store;
* afterwards nothing labelled ``app.kubernetes.io/managed-by=headrace`` is left.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from headrace_artifacts import ArtifactStore, FileStore, open_store
from headrace_contracts import Resources, StepReady
from headrace_contracts.kubeflow import load_training_jobs
from headrace_runtime import Settings
from headrace_trainer.backends import Gang, Phase, ReplicaLaunch
from headrace_trainer.backends.kubernetes import KubernetesBackend, KubernetesSettings
from headrace_trainer.backends.kubernetes.api import connect
from headrace_trainer.executor import StepControl
from headrace_trainer.executor.logs import log_key
from headrace_trainer.podstep import run_in_pod
from headrace_trainer.stepgang import gang_id

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not os.environ.get("KUBECONFIG"),
        reason="needs a Kubernetes cluster: set KUBECONFIG (docs/kubernetes.md, "
        "'The real-cluster suite')",
    ),
]

NAMESPACE = os.environ.get("HEADRACE_CLUSTER_NAMESPACE", "headrace-test")
STEP_IMAGE = os.environ.get("HEADRACE_CLUSTER_STEP_IMAGE", "")
SELECTOR = "app.kubernetes.io/managed-by=headrace"
FINAL_SECONDS = 300


def settings() -> KubernetesSettings:
    return KubernetesSettings(
        backend="kubernetes",
        namespace=NAMESPACE,
        unschedulable_seconds=20,
        watch_seconds=60,
    )


def artifact_store(tmp_path: Path) -> ArtifactStore:
    uri = os.environ.get("HEADRACE_KUBERNETES_ARTIFACTS", "")
    if uri:
        return open_store(uri, **Settings().s3_options())
    return FileStore(tmp_path / "artifacts")


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[KubernetesBackend]:
    chosen = settings()
    k8s = connect(chosen)
    await asyncio.to_thread(_ensure_namespace, k8s.core, NAMESPACE)
    made = KubernetesBackend(k8s, chosen, store=artifact_store(tmp_path), spool=tmp_path / "spool")
    yield made
    await made.close()
    await asyncio.to_thread(_nothing_left, connect(chosen))


def _ensure_namespace(core: Any, name: str) -> None:
    try:
        core.read_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise
        core.create_namespace({"metadata": {"name": name}})


def _nothing_left(k8s: Any) -> None:
    """Every object the backend made is gone (the garbage collector works a little after)."""
    deadline = time.monotonic() + 120
    while True:
        left = [
            *(
                f"job/{j.metadata.name}"
                for j in k8s.batch.list_namespaced_job(NAMESPACE, label_selector=SELECTOR).items
            ),
            *(
                f"pod/{p.metadata.name}"
                for p in k8s.core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR).items
            ),
            *(
                f"configmap/{c.metadata.name}"
                for c in k8s.core.list_namespaced_config_map(
                    NAMESPACE, label_selector=SELECTOR
                ).items
            ),
            *(
                f"service/{s.metadata.name}"
                for s in k8s.core.list_namespaced_service(NAMESPACE, label_selector=SELECTOR).items
            ),
        ]
        if not left:
            k8s.close()
            return
        if time.monotonic() > deadline:
            k8s.close()
            raise AssertionError(f"left in namespace {NAMESPACE}: {', '.join(left)}")
        time.sleep(2)


def step(step_id: str, image: str, command: list[str], **more: Any) -> StepReady:
    return StepReady(
        run_id=f"cluster-{int(time.time())}",
        step_id=step_id,
        task_name=step_id,
        executor={"container": {"image": image, "command": command}},
        **more,
    )


async def run_step(backend: KubernetesBackend, ready: StepReady) -> Any:
    control = StepControl()

    async def started(pid: int) -> None:
        return None

    try:
        return await asyncio.wait_for(
            run_in_pod(ready, backend, backend.store, control, execution=1, on_start=started),
            FINAL_SECONDS,
        )
    finally:
        await backend.remove(gang_id(ready))


needs_executor = pytest.mark.skipif(
    bool(os.environ.get("KUBECONFIG"))
    and not (STEP_IMAGE and os.environ.get("HEADRACE_KUBERNETES_ARTIFACTS")),
    reason="needs HEADRACE_CLUSTER_STEP_IMAGE (an image with headrace-executor) and "
    "HEADRACE_KUBERNETES_ARTIFACTS (a store the pods and the test reach)",
)


@needs_executor
async def test_a_step_succeeds_and_its_log_is_kept(backend: KubernetesBackend) -> None:
    ready = step("hello", STEP_IMAGE, ["sh", "-c", "echo hello from the pod"])
    outcome = await run_step(backend, ready)
    assert outcome.status == "succeeded", outcome.reason
    key = log_key(ready.run_id, ready.step_id, ready.attempt)
    with backend.store.open_read(key) as reader:
        assert b"hello from the pod" in reader.read()


@needs_executor
async def test_a_step_that_exits_1_fails_with_its_code(backend: KubernetesBackend) -> None:
    outcome = await run_step(backend, step("crash", STEP_IMAGE, ["sh", "-c", "exit 1"]))
    assert outcome.status == "failed"
    assert outcome.exit_code == 1


@needs_executor
async def test_a_step_with_a_platform_spec_runs_with_it(backend: KubernetesBackend) -> None:
    platform = {
        "nodeSelector": {"labels": {"kubernetes.io/os": "linux"}},
        "tolerations": [{"key": "headrace-test", "operator": "Exists", "effect": "NoSchedule"}],
        "activeDeadlineSeconds": 120,
    }
    ready = step("platform", STEP_IMAGE, ["sh", "-c", "true"], platform=platform)
    outcome = await run_step(backend, ready)
    assert outcome.status == "succeeded", outcome.reason


async def test_a_step_whose_image_cannot_be_pulled_fails_so(backend: KubernetesBackend) -> None:
    ready = step("pull", "registry.invalid/headrace/no-such-image:0", ["true"])
    outcome = await run_step(backend, ready)
    assert outcome.status == "failed"
    assert "Image" in outcome.reason  # ErrImagePull or ImagePullBackOff


async def test_a_step_asking_for_more_gpus_than_any_node_has_is_unschedulable(
    backend: KubernetesBackend,
) -> None:
    resources = Resources(gpu=64, accelerator_type="nvidia.com/gpu", accelerator_count=64)
    ready = step("gpus", "busybox:1.36", ["true"], resources=resources)
    outcome = await run_step(backend, ready)
    assert outcome.status == "failed"
    assert "Unschedulable" in outcome.reason or "Insufficient" in outcome.reason


PYTORCH_JOB = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: cluster-ddp, namespace: default}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: busybox:1.36
              command: [sh, -c, 'echo rank $RANK of $WORLD_SIZE master $MASTER_ADDR']
    Worker:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: busybox:1.36
              command: [sh, -c, 'echo rank $RANK of $WORLD_SIZE master $MASTER_ADDR']
"""


async def test_a_two_replica_training_job_succeeds(backend: KubernetesBackend) -> None:
    (job,) = load_training_jobs(PYTORCH_JOB)
    replicas = tuple(
        ReplicaLaunch(role, 0, ("sh",), log_key=f"cluster/{job.name}/{role}-0.log")
        for role in ("master", "worker")
    )
    gang = Gang(f"default/{job.name}", replicas, source=job)
    try:
        await backend.start(gang)
        states = await asyncio.wait_for(backend.wait(gang.id), FINAL_SECONDS)
        assert {(s.name, s.phase) for s in states} == {
            ("master-0", Phase.SUCCEEDED),
            ("worker-0", Phase.SUCCEEDED),
        }
        lines = [line async for line in backend.logs(gang.id, "worker", 0)]
        assert len(lines) == 1
        assert lines[0].startswith("rank 1 of 2 master ")  # the master's stable hostname
    finally:
        await backend.remove(gang.id)
