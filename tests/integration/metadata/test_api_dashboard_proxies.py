"""The dashboard's views of the tuner's experiments and the trainer's training jobs, asked
over the bus by the metadata service, against a real platform (scheduler, trainer, tuner,
metadata service on a real nats-server): listing, one experiment, its trials page by page,
jobs and their replicas' logs; unknown names are 404 and a service that does not answer is a
503 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_platform import Dash, Events, dashboard_platform, eventually

EXPERIMENT = "dash-quadratic"
JOB = "dash-printer"
GATED = (
    "import os, pathlib, time\n"
    "print('first line', flush=True)\n"
    "while not pathlib.Path(os.environ['GATE']).exists(): time.sleep(0.05)\n"
    "print('last line')"
)
PRINT = (  # the master waits for the worker's lines: a job ends with its master, the rest killed
    "import os, pathlib, time\n"
    "rank, gate = os.environ['RANK'], pathlib.Path(os.environ['GATE'])\n"
    "while rank == '0' and not gate.exists(): time.sleep(0.05)\n"
    "for i in range(3): print(f'line {i} of rank {rank}', flush=True)\n"
    "if rank != '0': gate.write_text('done')"
)


def printing_job(name: str, code: str = PRINT, *, workers: int = 1, **env: str) -> dict[str, Any]:
    """A PyTorchJob of a master and ``workers`` workers running ``code`` with ``env`` (by
    default each printing three lines, the worker first)."""
    container = {
        "name": "pytorch",
        "image": "python:3.11",
        "command": ["python", "-c", code],
        "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    replica = {
        "replicas": 1,
        "restartPolicy": "Never",
        "template": {"spec": {"containers": [container]}},
    }
    specs: dict[str, Any] = {"Master": replica}
    if workers:
        specs["Worker"] = {**replica, "replicas": workers}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {"pytorchReplicaSpecs": specs},
    }


def experiment(name: str) -> dict[str, Any]:
    """Three trials, one per value of ``x``, each printing ``loss=x``."""
    container = {
        "name": "training-container",
        "image": "python:3.11",
        "command": ["python", "-c", "import os; print(f\"loss={os.environ['X']}\")"],
        "env": [{"name": "X", "value": "${trialParameters.x}"}],
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {"algorithmName": "grid"},
            "maxTrialCount": 3,
            "parallelTrialCount": 3,
            "parameters": [
                {
                    "name": "x",
                    "parameterType": "discrete",
                    "feasibleSpace": {"list": ["1", "2", "3"]},
                }
            ],
            "trialTemplate": {
                "trialParameters": [{"name": "x", "reference": "x"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {"spec": {"containers": [container], "restartPolicy": "Never"}}
                    },
                },
            },
        },
    }


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    root = tmp_path_factory.mktemp("dash-proxies")
    with dashboard_platform(root, tuner=True) as made:
        path = Path(root / f"{EXPERIMENT}.yaml")
        path.write_text(yaml.safe_dump(experiment(EXPERIMENT)))
        made.client.apply(path)
        done = made.client.wait_experiment(EXPERIMENT, timeout=120)
        assert done.state == "SUCCEEDED", done.message
        yield made


def test_experiments_and_their_trials_page_by_page(dash: Dash) -> None:
    listed = dash.ok("/tuning/experiments")["experiments"]
    assert [e["name"] for e in listed] == [EXPERIMENT]
    found = dash.ok(f"/tuning/experiments/{EXPERIMENT}")
    assert (found["state"], found["trials_created"], found["trials_succeeded"]) == (
        "SUCCEEDED",
        3,
        3,
    )
    assert found["best_trial"]["objective_value"] == 1.0
    assert found["trials"] == []
    assert found["spec"]["metadata"]["name"] == EXPERIMENT

    first = dash.ok(f"/tuning/experiments/{EXPERIMENT}/trials", limit=2)
    assert [t["number"] for t in first["trials"]] == [0, 1]
    assert first["next_page_token"]
    second = dash.ok(
        f"/tuning/experiments/{EXPERIMENT}/trials", limit=2, page_token=first["next_page_token"]
    )
    assert [t["number"] for t in second["trials"]] == [2]
    assert second["next_page_token"] == ""
    trials = first["trials"] + second["trials"]
    assert sorted(t["parameters"]["x"] for t in trials) == ["1", "2", "3"]
    assert all(t["objective_value"] == float(t["parameters"]["x"]) for t in trials)


def test_training_jobs_of_the_trials(dash: Dash) -> None:
    trials = dash.ok(f"/tuning/experiments/{EXPERIMENT}/trials")["trials"]
    jobs = {j["name"]: j for j in dash.ok("/jobs")["jobs"]}
    assert {t["name"] for t in trials} <= set(jobs)
    one = dash.ok(f"/jobs/{trials[0]['name']}")
    assert one["state"] == "SUCCEEDED"
    assert one["replicas"]
    assert jobs[one["name"]]["replicas"] == []


def test_unknown_names_and_bad_tokens(dash: Dash) -> None:
    missing = dash.get("/tuning/experiments/nope")
    assert "no experiment 'nope' in namespace 'default'" in dash.error(missing, 404)
    no_trials = dash.get("/tuning/experiments/nope/trials")
    assert "no experiment 'nope'" in dash.error(no_trials, 404)
    token = dash.get(f"/tuning/experiments/{EXPERIMENT}/trials", page_token="abc")
    assert "page_token 'abc'" in dash.error(token, 400)
    no_job = dash.get("/jobs/nope")
    assert "no training job 'nope'" in dash.error(no_job, 404)


@pytest.fixture(scope="module")
def printed(dash: Dash) -> str:
    path = Path(dash.home / f"{JOB}.yaml")
    path.write_text(yaml.safe_dump(printing_job(JOB, GATE=str(dash.home / f"{JOB}.gate"))))
    dash.client.apply(path)
    done = dash.client.wait_job(JOB, timeout=120)
    assert done.state == "SUCCEEDED", done.reason
    return JOB


def test_a_replicas_log_by_offset(dash: Dash, printed: str) -> None:
    replicas = dash.ok(f"/jobs/{printed}")["replicas"]
    names = sorted(f"{r['role']}-{r['index']}" for r in replicas)
    assert len(names) == 2
    for name, rank in zip(names, ("0", "1"), strict=True):
        whole = dash.get(f"/jobs/{printed}/replicas/{name}/log", namespace="default")
        assert whole.status_code == 200, whole.text
        lines = [f"line {i} of rank {rank}" for i in range(3)]
        assert whole.text.splitlines() == lines
        assert whole.headers["X-Log-Complete"] == "true"
        assert whole.headers["X-Log-Size"] == str(len(whole.content))
        rest = dash.get(f"/jobs/{printed}/replicas/{name}/log", offset=len(lines[0]) + 1)
        assert rest.text.splitlines() == lines[1:]
        assert rest.headers["X-Log-Size"] == whole.headers["X-Log-Size"]


def test_a_replicas_log_as_events(dash: Dash, printed: str) -> None:
    name = sorted(f"{r['role']}-{r['index']}" for r in dash.ok(f"/jobs/{printed}")["replicas"])[0]
    stream = dash.get(f"/jobs/{printed}/replicas/{name}/log/stream")
    assert stream.status_code == 200
    assert "line 2 of rank 0" in stream.text
    assert "event: end" in stream.text


def test_a_running_replicas_log_streams_until_it_ends(dash: Dash, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = tmp_path / "gated.yaml"
    path.write_text(yaml.safe_dump(printing_job("dash-gated", GATED, workers=0, GATE=str(gate))))
    dash.client.apply(path)
    log = "/jobs/dash-gated/replicas/master-0/log"

    def log_now() -> tuple[str, dict[str, str]]:
        response = dash.get(log)
        if response.status_code == 404:  # the trainer has not started its replicas yet
            return "", {}
        assert response.status_code == 200, response.text
        return response.text, dict(response.headers)

    text, headers = eventually(log_now, lambda found: "first line" in found[0], timeout=60)
    assert headers["x-log-complete"] == "false"
    assert headers["x-replica-state"] == "Running"
    assert "last line" not in text
    size = len(text.encode())
    stream = Events(
        f"{dash.base}{log}/stream",
        {"offset": str(size), "namespace": "default"},
        first_comment=False,
        headers=dict(dash.http.headers),
    )
    try:
        gate.write_text("go")
        stream.wait(lambda: stream.ended, what="the end of the replica's log stream")
        assert stream.received[-1]["event"] == "end"
        assert stream.received[-1]["data"]["state"] == "Succeeded"
        pieces = [e["data"] for e in stream.received if e["event"] == "log"]
        assert pieces[0]["offset"] == size
        streamed = "".join(p["text"] for p in pieces)
        assert "last line" in streamed
        assert "first line" not in streamed
    finally:
        stream.close()


def test_unknown_replicas_and_jobs_of_logs(dash: Dash, printed: str) -> None:
    replica = dash.get(f"/jobs/{printed}/replicas/chief-7/log")
    reason = dash.error(replica, 404)
    assert f"training job {printed!r} in namespace 'default' has no replica 'chief-7'" in reason
    assert "master-0, worker-0" in reason
    assert f"GET /api/v1/jobs/{printed}" in reason
    job = dash.get("/jobs/nope/replicas/master-0/log")
    assert "no training job 'nope'" in dash.error(job, 404)
    elsewhere = dash.get(f"/jobs/{printed}/replicas/master-0/log", namespace="other")
    assert "no training job" in dash.error(elsewhere, 404)


def test_a_service_that_does_not_answer_is_named(dash: Dash) -> None:
    trainer = next(s for s in dash.platform.services if s.name == "trainer")
    dash.platform.run(trainer.stop())
    dash.platform.services.remove(trainer)
    down = dash.get("/jobs")
    reason = dash.error(down, 503)
    assert reason.startswith("no trainer answers on NATS (ListTrainingJobs)")
    assert "headrace-trainer" in reason
