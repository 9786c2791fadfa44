"""What a revision's Deployment and pods say, read from recorded API objects
(tests/fixtures/kubernetes): ready replicas, and why a pod cannot serve."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from headrace_serving.kubernetes.observe import deployment_counts, pod_problem

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def crash_looping() -> dict[str, Any]:
    """The recorded OOMKilled-and-restarted pod, as the kubelet shows it while it waits to
    restart the container again (state ``waiting: CrashLoopBackOff``; its last termination
    as recorded, plus a termination message)."""
    pod = copy.deepcopy(recorded("pod-oomkilled-restarted.json"))
    (status,) = pod["status"]["containerStatuses"]
    status["state"] = {
        "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed"}
    }
    return pod


def test_image_pull_failures_are_fatal_at_once() -> None:
    problem = pod_problem(recorded("pod-imagepullbackoff.json"), seen=0.0)
    assert problem is not None
    assert problem.reason == "ImagePullBackOff"
    assert problem.message == 'Back-off pulling image "gcr.io/heptio-images/ks-guestbook-demo:0.3"'
    assert problem.fatal(now=0.0, unschedulable_seconds=300)


def test_a_crash_loop_says_how_the_container_ended() -> None:
    problem = pod_problem(crash_looping(), seen=0.0)
    assert problem is not None
    assert problem.reason == "CrashLoopBackOff"
    assert problem.message == "the model server exited with code 137 (OOMKilled)"
    pod = crash_looping()
    last = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
    last["message"] = "cannot load models:/iris/3: no such version"
    said = pod_problem(pod, seen=0.0)
    assert said is not None
    assert said.message == "cannot load models:/iris/3: no such version"
    assert said.describe("iris-1") == (
        "pod iris-1: CrashLoopBackOff: cannot load models:/iris/3: no such version"
    )


def test_unschedulable_is_fatal_only_after_the_configured_time() -> None:
    problem = pod_problem(recorded("pod-unschedulable-gpu.json"), seen=0.0)
    assert problem is not None
    assert problem.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in problem.message
    since = datetime.fromisoformat("2023-03-01T10:18:40+00:00").timestamp()
    assert problem.since == since
    assert not problem.fatal(now=since + 299, unschedulable_seconds=300)
    assert problem.fatal(now=since + 300, unschedulable_seconds=300)


def test_running_and_deleting_pods_have_no_problem() -> None:
    assert pod_problem(recorded("pod-running.json"), seen=0.0) is None
    assert pod_problem(recorded("pod-deleting.json"), seen=0.0) is None
    assert pod_problem(recorded("pod-pending-initializing.json"), seen=0.0) is None


def test_deployment_counts() -> None:
    assert deployment_counts({}) == (0, 0)
    assert deployment_counts({"status": {"replicas": 2}}) == (2, 0)
    assert deployment_counts({"status": {"replicas": 2, "readyReplicas": 1}}) == (2, 1)
