"""The watch-to-event logic of the Kubernetes backend, replayed on recorded API objects.

The objects are in tests/fixtures/kubernetes (each file's source in its README). The one
adaptation made here, in `as_step`: Headrace's labels, so that the observer recognises a
pod as a step's replica; everything else stays as recorded."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from headrace_trainer.backends.base import GangEvent, Phase
from headrace_trainer.backends.kubernetes.observe import (
    Observer,
    job_state,
    parse_indexes,
    pod_state,
)
from headrace_trainer.errors import WatchFailed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes"
HOUR = 3600.0


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def as_step(name: str, *, step: str, uid: str | None = None) -> dict[str, Any]:
    """Fixture ``name`` labelled as step ``step``'s pod of run ``run-1`` (attempt 1); ``uid``
    replaces the recorded one where a test needs several steps from one recording."""
    pod = copy.deepcopy(recorded(name))
    meta = pod["metadata"]
    meta.setdefault("labels", {}).update(
        {
            "app.kubernetes.io/managed-by": "headrace",
            "headrace.io/run": "run-1",
            "headrace.io/step": step,
            "headrace.io/attempt": "1",
        }
    )
    if uid is not None:
        meta["uid"] = uid
    return pod


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def pod_list(*pods: dict[str, Any], resource_version: str) -> dict[str, Any]:
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": resource_version},
        "items": list(pods),
    }


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def summary(events: list[GangEvent]) -> list[tuple[str, str, str, int | None, str]]:
    return [
        (e.gang_id, e.kind, e.replica.phase.value, e.replica.exit_code, e.replica.reason)
        for e in events
    ]


# -- one object at a time -------------------------------------------------------------------


def test_a_completed_pod_is_succeeded_with_exit_code_0() -> None:
    pod = pod_state(recorded("pod-succeeded.json"))
    assert (pod.phase, pod.termination and pod.termination.exit_code) == (Phase.SUCCEEDED, 0)
    replica = pod.replica("step", 0)
    assert (replica.exit_code, replica.reason, replica.host, replica.oom_killed) == (
        0,
        "",
        "minikube",
        False,
    )
    assert replica.finished_at == epoch("2018-12-02T09:15:29Z")


def test_an_error_exit_is_failed_with_its_code() -> None:
    replica = pod_state(recorded("pod-failed-exit-1.json")).replica("step", 0)
    assert (replica.phase, replica.exit_code, replica.reason) == (Phase.FAILED, 1, "Error")


def test_oomkilled_is_a_failure_even_where_the_kubelet_says_succeeded() -> None:
    pod = pod_state(recorded("pod-oomkilled-terminated.json"))
    replica = pod.replica("step", 0)
    assert (replica.phase, replica.oom_killed, replica.reason) == (Phase.FAILED, True, "OOMKilled")


def test_a_restarted_container_keeps_its_oom_kill_with_exit_137() -> None:
    pod = pod_state(recorded("pod-oomkilled-restarted.json"))
    assert (pod.phase, pod.restarts) == (Phase.RUNNING, 1)
    assert pod.last_termination is not None
    assert (pod.last_termination.reason, pod.last_termination.exit_code) == ("OOMKilled", 137)


def test_image_pull_backoff_is_a_fatal_wait() -> None:
    pod = pod_state(recorded("pod-imagepullbackoff.json"))
    assert (pod.phase, pod.waiting, pod.fatal) == (Phase.PENDING, "ImagePullBackOff", True)
    assert 'Back-off pulling image "gcr.io/heptio-images/ks-guestbook-demo:0.3"' in pod.reason


def test_a_pod_initializing_waits_without_a_problem() -> None:
    pod = pod_state(recorded("pod-pending-initializing.json"))
    assert (pod.phase, pod.waiting, pod.fatal, pod.reason) == (Phase.PENDING, "", False, "")


def test_unschedulable_names_what_is_missing_and_since_when() -> None:
    pod = pod_state(recorded("pod-unschedulable-gpu.json"))
    assert pod.waiting == "Unschedulable"
    assert "2 Insufficient nvidia.com/gpu" in pod.reason
    assert pod.waiting_since == epoch("2023-03-01T10:18:40Z")


def test_a_pod_being_deleted_says_so() -> None:
    assert pod_state(recorded("pod-deleting.json")).deleting
    assert not pod_state(recorded("pod-pending-initializing.json")).deleting


def test_the_client_model_reads_as_its_json() -> None:
    data = recorded("pod-failed-exit-1.json")

    class Response:
        def __init__(self, body: str) -> None:
            self.data = body

    model = ApiClient().deserialize(Response(json.dumps(data)), "V1Pod")
    assert pod_state(model) == pod_state(data)


def test_job_conditions() -> None:
    failed = job_state(recorded("job-failed-backofflimit.json"))
    assert (failed.phase, failed.reason, failed.failed) == (Phase.FAILED, "BackoffLimitExceeded", 1)
    assert job_state(recorded("job-succeeded.json")).phase is Phase.SUCCEEDED
    running = job_state(recorded("job-running.json"))
    assert (running.phase, running.active) == (Phase.RUNNING, 1)


def test_indexed_job_indexes_give_each_replica_its_phase() -> None:
    job = copy.deepcopy(recorded("job-failed-backofflimit.json"))  # + the Indexed Job fields
    job["status"].update({"completedIndexes": "0,2-3", "failedIndexes": "1"})
    phases = job_state(job).replica_phases()
    assert phases == {0: Phase.SUCCEEDED, 1: Phase.FAILED, 2: Phase.SUCCEEDED, 3: Phase.SUCCEEDED}
    assert parse_indexes("") == frozenset()
    with pytest.raises(WatchFailed, match=r"'x-2'.*'0,2-4'"):
        parse_indexes("0,x-2")


# -- the watch ------------------------------------------------------------------------------


def test_a_step_pod_runs_and_succeeds() -> None:
    observer = Observer(unschedulable_after=300)
    now = epoch("2018-12-02T09:16:00Z")
    started = observer.apply(event("ADDED", as_step("pod-running.json", step="train")), now=now)
    assert summary(started) == [("run-1/train", "started", "Running", None, "")]
    ended = observer.apply(event("MODIFIED", as_step("pod-succeeded.json", step="train")), now=now)
    assert summary(ended) == [("run-1/train", "exited", "Succeeded", 0, "")]
    assert observer.resource_version == "151066"
    assert (
        observer.apply(event("MODIFIED", as_step("pod-succeeded.json", step="train")), now=now)
        == []
    )


def test_a_pod_that_failed_unseen_reports_start_then_exit() -> None:
    observer = Observer(unschedulable_after=300)
    events = observer.apply(
        event("MODIFIED", as_step("pod-failed-exit-1.json", step="prep")), now=0
    )
    assert summary(events) == [
        ("run-1/prep", "started", "Running", None, ""),
        ("run-1/prep", "exited", "Failed", 1, "Error"),
    ]


def test_oom_kill_is_reported() -> None:
    observer = Observer(unschedulable_after=300)
    events = observer.apply(
        event("MODIFIED", as_step("pod-oomkilled-terminated.json", step="t")), now=0
    )
    assert [e.kind for e in events] == ["started", "exited"]
    assert (events[1].replica.oom_killed, events[1].replica.reason) == (True, "OOMKilled")


def test_image_pull_backoff_fails_the_step_once() -> None:
    observer = Observer(unschedulable_after=300)
    pod = as_step("pod-imagepullbackoff.json", step="serve")
    events = observer.apply(event("ADDED", pod), now=0)
    assert summary(events) == [
        (
            "run-1/serve",
            "exited",
            "Failed",
            None,
            'ImagePullBackOff: Back-off pulling image "gcr.io/heptio-images/ks-guestbook-demo:0.3"',
        )
    ]
    assert observer.apply(event("MODIFIED", pod), now=0) == []


def test_unschedulable_is_reported_after_the_configured_time() -> None:
    observer = Observer(unschedulable_after=300)
    since = epoch("2023-03-01T10:18:40Z")
    assert (
        observer.apply(
            event("ADDED", as_step("pod-unschedulable-gpu.json", step="gpu")), now=since + 10
        )
        == []
    )
    assert observer.tick(now=since + 299) == []
    events = observer.tick(now=since + 300)
    assert [(e.kind, e.replica.phase) for e in events] == [("exited", Phase.FAILED)]
    assert events[0].replica.reason.startswith("Unschedulable: 0/3 nodes are available")
    assert "2 Insufficient nvidia.com/gpu" in events[0].replica.reason
    assert events[0].replica.reason.endswith("(no node for 300 s)")
    assert observer.tick(now=since + 900) == []


@pytest.mark.parametrize("expiry", ["watch-error-410-expired.json", "watch-error-410-gone.json"])
def test_an_expired_watch_relists_and_emits_each_missed_change_once(expiry: str) -> None:
    observer = Observer(unschedulable_after=HOUR)
    a = as_step("pod-running.json", step="a", uid="uid-a")
    b_pending = as_step("pod-pending-initializing.json", step="b", uid="uid-b")
    c_pending = as_step("pod-pending-initializing.json", step="c", uid="uid-c")
    for pod in (a, b_pending, c_pending):
        observer.apply(event("ADDED", pod), now=0)
    assert observer.apply(recorded(expiry), now=0) == []
    assert (observer.needs_relist, observer.resource_version) == (True, "")
    with pytest.raises(WatchFailed, match="relist"):
        observer.apply(event("MODIFIED", a), now=0)

    # While disconnected: a succeeded, b ran and failed, c was deleted.
    listing = pod_list(
        as_step("pod-succeeded.json", step="a", uid="uid-a"),
        as_step("pod-failed-exit-1.json", step="b", uid="uid-b"),
        resource_version="200000",
    )
    missed = observer.relist(listing, now=0)
    assert summary(missed) == [
        ("run-1/a", "exited", "Succeeded", 0, ""),
        ("run-1/b", "started", "Running", None, ""),
        ("run-1/b", "exited", "Failed", 1, "Error"),
        ("run-1/c", "exited", "Failed", None, "Deleted: the pod was deleted before it ended"),
    ]
    assert (observer.needs_relist, observer.resource_version) == (False, "200000")
    # Old events replayed after the relist, and the same list again: nothing new.
    assert observer.apply(event("MODIFIED", a), now=0) == []
    assert observer.apply(event("DELETED", c_pending), now=0) == []
    assert observer.relist(listing, now=0) == []


def test_an_http_410_from_the_watch_call_asks_for_a_relist() -> None:
    observer = Observer(unschedulable_after=HOUR)
    observer.apply(event("ADDED", as_step("pod-running.json", step="a")), now=0)
    observer.expired()
    assert observer.needs_relist
    listing = pod_list(as_step("pod-succeeded.json", step="a"), resource_version="151066")
    assert [e.kind for e in observer.relist(listing, now=0)] == ["exited"]


def test_a_restarted_launcher_adopts_running_work_without_repeating_starts() -> None:
    observer = Observer(unschedulable_after=300)
    since = epoch("2023-03-01T10:18:40Z")
    listing = pod_list(
        as_step("pod-running.json", step="train"),
        as_step("pod-failed-exit-1.json", step="prep"),
        as_step("pod-unschedulable-gpu.json", step="gpu"),
        recorded("pod-imagepullbackoff.json"),  # not Headrace's: no labels
        resource_version="151053",
    )
    adopted = observer.adopt(listing, now=since + 10)
    assert summary(adopted) == [
        ("run-1/train", "adopted", "Running", None, ""),
        ("run-1/prep", "adopted", "Failed", 1, "Error"),
        ("run-1/gpu", "adopted", "Pending", None, adopted[2].replica.reason),
    ]
    assert observer.resource_version == "151053"
    # The running pod's start is not reported again; its end is.
    assert (
        observer.apply(event("MODIFIED", as_step("pod-running.json", step="train")), now=since)
        == []
    )
    ended = observer.apply(
        event("MODIFIED", as_step("pod-succeeded.json", step="train")), now=since
    )
    assert summary(ended) == [("run-1/train", "exited", "Succeeded", 0, "")]
    # The pod that had ended is reported by its adoption only.
    assert (
        observer.apply(event("MODIFIED", as_step("pod-failed-exit-1.json", step="prep")), now=since)
        == []
    )
    # The pending one still times out as Unschedulable.
    assert [e.kind for e in observer.tick(now=since + 300)] == ["exited"]


def test_a_training_replica_is_named_by_its_role_and_completion_index() -> None:
    pod = copy.deepcopy(recorded("pod-running.json"))
    pod["metadata"]["labels"] = {
        "headrace.io/job": "ddp",
        "headrace.io/replica": "worker",
        "headrace.io/attempt": "2",
    }
    pod["metadata"]["annotations"] = {"batch.kubernetes.io/job-completion-index": "3"}
    (started,) = Observer(unschedulable_after=300).apply(event("ADDED", pod), now=0)
    assert (started.gang_id, started.attempt, started.replica.name) == ("ddp", 2, "worker-3")


def test_bookmarks_move_the_cursor_and_the_client_event_shape_is_read() -> None:
    observer = Observer(unschedulable_after=300)
    observer.apply(
        {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "42"}}},
        now=0,
    )
    assert observer.resource_version == "42"
    raw = as_step("pod-running.json", step="a")
    # kubernetes.watch.Watch.stream yields the model as "object" and the JSON as "raw_object".
    events = observer.apply({"type": "ADDED", "object": object(), "raw_object": raw}, now=0)
    assert [e.kind for e in events] == ["started"]


def test_bad_watch_input_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="unschedulable_after is -1"):
        Observer(unschedulable_after=-1)
    observer = Observer(unschedulable_after=300)
    forbidden = {
        "kind": "Status",
        "code": 403,
        "reason": "Forbidden",
        "message": "pods is forbidden",
    }
    with pytest.raises(WatchFailed, match="403 Forbidden: pods is forbidden"):
        observer.apply({"type": "ERROR", "object": forbidden}, now=0)
    with pytest.raises(WatchFailed, match="'SYNC' is none of ADDED"):
        observer.apply({"type": "SYNC", "object": {}}, now=0)
    no_uid = as_step("pod-running.json", step="a")
    del no_uid["metadata"]["uid"]
    with pytest.raises(WatchFailed, match=r"no metadata\.uid"):
        observer.apply(event("ADDED", no_uid), now=0)
