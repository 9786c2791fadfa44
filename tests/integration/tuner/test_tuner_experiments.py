"""Katib experiments end to end on a running platform: a real nats-server, a trainer and a
tuner process; trials are training jobs whose replicas are small Python programs."""

from __future__ import annotations

import shutil
from pathlib import Path

from tuner_support import Platform, alive, experiment, wait_until, write

from headrace import Client

EXAMPLE = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"


def test_katib_yaml_with_stdout_metrics(client: Client, platform: Platform) -> None:
    folder = platform.folder / "example"
    folder.mkdir()
    path = folder / EXAMPLE.name
    shutil.copy(EXAMPLE, path)
    (applied,) = client.apply(path)
    assert applied.resource == "experiment.kubeflow.org/random-quadratic"
    assert applied.created
    done = client.wait_experiment("random-quadratic", timeout=90)

    assert done.state == "SUCCEEDED", done.message
    assert done.reason in ("ExperimentGoalReached", "ExperimentMaxTrialsReached")
    assert 1 <= done.trials_created <= 6
    finished = [t for t in done.trials if t.state == "SUCCEEDED"]
    assert finished
    for trial in finished:
        x, shift = float(trial.parameters["x"]), int(trial.parameters["shift"])
        extra = 0.0 if trial.parameters["optimizer"] == "adam" else 0.05
        loss = (x - 0.5) ** 2 + 0.1 * shift + extra
        # strategy min: the epoch-2 value, below epoch 1's loss + 1
        assert trial.objective_value is not None
        assert abs(trial.objective_value - loss) < 1e-9
        assert abs(trial.metrics["distance"] - abs(x - 0.5)) < 1e-9
    assert done.best_trial is not None
    assert done.best_trial.objective_value == min(t.objective_value or 0 for t in finished)
    # without its trials (as `wait_experiment` polls it): the same spec, counts and best trial
    summary = client.get_experiment("random-quadratic", trials=False)
    assert summary.trials == []
    assert summary.spec == done.spec
    assert summary.spec["metadata"]["name"] == "random-quadratic"
    assert summary.model_dump(exclude={"trials"}) == done.model_dump(exclude={"trials"})
    listed = next(e for e in client.list_experiments() if e.name == "random-quadratic")
    assert listed.spec == {}
    assert listed.model_dump(exclude={"spec"}) == summary.model_dump(exclude={"spec"})
    # read two at a time, the trials are the same, in the same order
    assert client.experiment_trials("random-quadratic", page_size=2) == done.trials
    if done.reason == "ExperimentGoalReached":
        assert done.best_trial.objective_value <= 0.05
    else:
        assert done.trials_created == 6
        assert all(t.state == "SUCCEEDED" for t in done.trials)
    # the same file again changes nothing
    (again,) = client.apply(path)
    assert not again.created


def test_goal_reached_stops_the_running_trials(client: Client, platform: Platform) -> None:
    folder = platform.folder / "goal"
    code = (
        "import os, pathlib, time\n"
        "x = float(os.environ['X'])\n"
        "pathlib.Path(f'pid-{x}').write_text(str(os.getpid()))\n"
        "if x > 0.5:\n"
        "    time.sleep(120)\n"
        "print(f'loss={x}')\n"
    )
    doc = experiment(
        "goal",
        code,
        [
            {
                "name": "x",
                "parameterType": "discrete",
                "feasibleSpace": {"list": ["0.2", "0.8", "0.9"]},
            }
        ],
        objective={"type": "minimize", "objectiveMetricName": "loss", "goal": 0.5},
        algorithm="grid",
        parallelTrialCount=3,
        maxTrialCount=3,
    )
    client.apply(write(folder, doc))
    done = client.wait_experiment("goal", timeout=60)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentGoalReached")
    assert done.best_trial is not None
    assert done.best_trial.parameters == {"x": "0.2"}
    states = {t.parameters["x"]: (t.state, t.reason) for t in done.trials}
    assert states == {
        "0.2": ("SUCCEEDED", "TrialSucceeded"),
        "0.8": ("KILLED", "ExperimentEnded"),
        "0.9": ("KILLED", "ExperimentEnded"),
    }
    for x in ("0.8", "0.9"):  # their processes are stopped, not left behind
        pid = int((folder / f"pid-{x}").read_text())
        wait_until(client, "goal", lambda _, pid=pid: not alive(pid), 30, f"stopped {pid}")


def test_pushed_metrics_with_latest_strategy(client: Client, platform: Platform) -> None:
    code = (
        "import os\n"
        "from headrace import report_metrics\n"
        "lr = float(os.environ['LR'])\n"
        "for step in range(1, 4):\n"
        "    report_metrics(accuracy=round(1 - lr * step / 10, 6), step=step)\n"
    )
    doc = experiment(
        "pushed",
        code,
        [{"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.9"}}],
        objective={
            "type": "maximize",
            "objectiveMetricName": "accuracy",
            "metricStrategies": [{"name": "accuracy", "value": "latest"}],
        },
        algorithm="tpe",
        settings={"random_state": "1", "n_startup_trials": "2"},
        parallelTrialCount=2,
        maxTrialCount=4,
        metricsCollectorSpec={"collector": {"kind": "Push"}},
    )
    client.apply(write(platform.folder / "pushed", doc))
    done = client.wait_experiment("pushed", timeout=60)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached")
    assert [t.number for t in done.trials] == [0, 1, 2, 3]
    for trial in done.trials:
        lr = float(trial.parameters["lr"])
        assert trial.objective_value == round(1 - lr * 3 / 10, 6)  # the last step's
    best = max(done.trials, key=lambda t: t.objective_value or 0)
    assert done.best_trial is not None
    assert done.best_trial.name == best.name


def test_silent_and_crashing_trials_fail_the_experiment(client: Client, platform: Platform) -> None:
    code = (
        "import os, sys\n"
        "if os.environ['MODE'] == 'crash':\n"
        "    print('diverged at step 3', file=sys.stderr)\n"
        "    sys.exit(3)\n"
        "print('accuracy=0.5')\n"
    )
    doc = experiment(
        "failing",
        code,
        [
            {
                "name": "mode",
                "parameterType": "categorical",
                "feasibleSpace": {"list": ["silent", "crash"]},
            }
        ],
        algorithm="grid",
        parallelTrialCount=1,
        maxTrialCount=5,
        maxFailedTrialCount=1,
    )
    client.apply(write(platform.folder / "failing", doc))
    done = client.wait_experiment("failing", timeout=60)

    assert (done.state, done.reason) == ("FAILED", "ExperimentMaxFailedTrialsReached")
    assert done.trials_failed == 2
    by_mode = {t.parameters["mode"]: t for t in done.trials}
    silent, crash = by_mode["silent"], by_mode["crash"]
    assert silent.reason == "MetricsUnavailable"
    assert "never reported the objective metric 'loss' (reported: accuracy)" in silent.message
    assert crash.reason == "TrialFailed"
    assert "diverged at step 3" in crash.message
    assert "2 trials failed, more than maxFailedTrialCount 1" in done.message
    assert silent.name in done.message
    assert crash.name in done.message


def test_a_bad_experiment_is_refused_before_anything_is_sent(
    client: Client, platform: Platform
) -> None:
    doc = experiment(
        "bad",
        "print('loss=1')",
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "1", "max": "0"}}],
        algorithm="annealing",
    )
    path = write(platform.folder / "bad", doc)
    try:
        client.apply(path)
    except ValueError as error:
        text = str(error)
    else:
        raise AssertionError("a bad experiment was applied")
    assert "unknown algorithm 'annealing'" in text
    assert "spec.parameters[0].feasibleSpace.max: 0 is below min 1" in text
    assert client.list_experiments() == [] or all(
        e.name != "bad" for e in client.list_experiments()
    )


def test_delete_stops_the_trials_and_forgets_the_experiment(
    client: Client, platform: Platform
) -> None:
    folder = platform.folder / "deleted"
    code = (
        "import os, pathlib, time\n"
        "pathlib.Path(f'pid-{os.getpid()}').write_text(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    doc = experiment(
        "deleted",
        code,
        [{"name": "x", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "9"}}],
        parallelTrialCount=2,
        maxTrialCount=4,
    )
    client.apply(write(folder, doc))
    wait_until(
        client, "deleted", lambda e: len(list(folder.glob("pid-*"))) == 2, 30, "ran 2 trials"
    )
    gone = client.delete_experiment("deleted")
    assert gone.trials_created == 2
    assert all(e.name != "deleted" for e in client.list_experiments())
    for pid_file in folder.glob("pid-*"):
        pid = int(pid_file.read_text())
        deadline_ok = _eventually(lambda pid=pid: not alive(pid), 30)
        assert deadline_ok, f"trial process {pid} still runs"


def _eventually(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_custom_metrics_format_and_katib_default(client: Client, platform: Platform) -> None:
    code = (
        "import os\n"
        "lr = float(os.environ['LR'])\n"
        "for epoch in (1, 2, 3):\n"
        "    print(f'Epoch[{epoch}] done; val-acc: {round(lr * epoch, 6)} (training)')\n"
        "print('all done')\n"
    )
    doc = experiment(
        "custom-format",
        code,
        [{"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.3"}}],
        objective={
            "type": "maximize",
            "objectiveMetricName": "val-acc",
            "metricStrategies": [{"name": "val-acc", "value": "min"}],
        },
        parallelTrialCount=2,
        maxTrialCount=2,
        metricsCollectorSpec={
            "collector": {"kind": "StdOut"},
            "source": {"filter": {"metricsFormat": [r"([\w-]+):\s*([-+]?[0-9.]+)"]}},
        },
    )
    client.apply(write(platform.folder / "custom-format", doc))
    done = client.wait_experiment("custom-format", timeout=60)

    assert done.state == "SUCCEEDED", done.message
    for trial in done.trials:  # strategy min over the three epochs: epoch 1's value
        assert trial.objective_value == round(float(trial.parameters["lr"]), 6)


def test_an_experiment_the_tuner_cannot_search_fails_saying_why(
    client: Client, platform: Platform
) -> None:
    doc = experiment(
        "file-metrics",
        "print('loss=1')",
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}],
        metricsCollectorSpec={
            "collector": {"kind": "File"},
            "source": {"fileSystemPath": {"path": "/tmp/metrics.log", "kind": "File"}},
        },
    )
    client.apply(write(platform.folder / "file-metrics", doc))
    done = client.wait_experiment("file-metrics", timeout=30)

    assert (done.state, done.reason) == ("FAILED", "InvalidExperiment")
    assert "the File metrics collector is not supported yet" in done.message
    assert done.trials == []
