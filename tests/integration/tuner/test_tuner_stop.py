"""`StopExperiment` (``headrace experiment stop``) on a running platform: a real nats-server, a
trainer and a tuner process. A stopped experiment ends STOPPED at once, creates no trial any
more, kills its running trials (their processes end) and keeps its trials and best trial."""

from __future__ import annotations

import threading
import time

import pytest
from tuner_support import Platform, alive, experiment, wait_until, write

from headrace import Client
from headrace.cli import main
from headrace.experiment_errors import ExperimentFailedError
from headrace.tuning import run_experiment

CODE = (
    "import os, pathlib, time\n"
    "x = float(os.environ['X'])\n"
    "pathlib.Path(f'pid-{x}').write_text(str(os.getpid()))\n"
    "if x > 0.5:\n"
    "    time.sleep(120)\n"
    "print(f'loss={x}')\n"
)


def test_stop_kills_the_running_trials_and_keeps_the_experiment(
    client: Client, platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--nats-url", platform.nats.url]
    folder = platform.folder / "stopping"
    doc = experiment(
        "stopping",
        CODE,
        [
            {
                "name": "x",
                "parameterType": "discrete",
                "feasibleSpace": {"list": ["0.2", "0.8", "0.9", "0.95", "0.99"]},
            }
        ],
        algorithm="grid",
        parallelTrialCount=3,
        maxTrialCount=5,
    )
    client.apply(write(folder, doc))
    wait_until(
        client,
        "stopping",
        lambda e: e.trials_succeeded == 1 and len(list(folder.glob("pid-*"))) >= 3,
        60,
        "one trial succeeded and two more run",
    )
    capsys.readouterr()

    assert main(["experiment", "stop", "stopping", "--reason", "good enough", *url]) == 0
    printed = capsys.readouterr().out
    stopped = client.get_experiment("stopping")

    assert (stopped.state, stopped.reason, stopped.message) == (
        "STOPPED",
        "ExperimentStopped",
        "good enough",
    )
    assert (
        printed
        == f"experiment/stopping stopped ({stopped.trials_killed} running trial(s) killed)\n"
    )
    assert stopped.trials_killed >= 2
    assert stopped.best_trial is not None
    assert stopped.best_trial.parameters == {"x": "0.2"}
    killed = [t for t in stopped.trials if t.state == "KILLED"]
    assert {t.reason for t in killed} == {"ExperimentStopped"}
    assert all("good enough" in t.message for t in killed)
    # their processes are stopped, not left behind (a trial killed before its process
    # started has no pid file)
    for pid_file in folder.glob("pid-*"):
        pid = int(pid_file.read_text())
        wait_until(client, "stopping", lambda _, pid=pid: not alive(pid), 30, f"stopped {pid}")
    # no trial was created after the stop: the trials are those there were, all ended
    after = client.get_experiment("stopping")
    assert after.trials_created == stopped.trials_created < 5
    assert after.state == "STOPPED"
    assert all(t.state in ("SUCCEEDED", "KILLED") for t in after.trials)
    assert any(e.name == "stopping" for e in client.list_experiments())


def test_stop_of_an_ended_experiment_says_so(
    client: Client, platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--nats-url", platform.nats.url]
    doc = experiment(
        "ended",
        CODE,
        [{"name": "x", "parameterType": "discrete", "feasibleSpace": {"list": ["0.1"]}}],
        algorithm="grid",
        parallelTrialCount=1,
    )
    client.apply(write(platform.folder / "ended", doc))
    done = client.wait_experiment("ended", timeout=60)
    assert done.state == "SUCCEEDED"
    capsys.readouterr()

    assert main(["experiment", "stop", "ended", *url]) == 1
    error = capsys.readouterr().err
    assert "experiment 'ended' has already ended (SUCCEEDED): there is nothing to stop" in error
    assert client.get_experiment("ended").state == "SUCCEEDED"

    assert main(["experiment", "stop", "missing", *url]) == 2
    assert "no experiment 'missing' in namespace 'default'" in capsys.readouterr().err


def test_run_experiment_raises_when_its_experiment_is_stopped(
    client: Client, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = platform.folder / "waited"
    folder.mkdir()
    monkeypatch.chdir(folder)  # the trials run in the folder run_experiment is called from
    monkeypatch.setenv("HEADRACE_NATS_URL", platform.nats.url)  # as a step has it
    doc = experiment(
        "waited",
        CODE,
        [{"name": "x", "parameterType": "discrete", "feasibleSpace": {"list": ["0.8", "0.9"]}}],
        algorithm="grid",
        parallelTrialCount=2,
    )
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            run_experiment(doc, timeout=60)  # its own client, as in a step
        except BaseException as error:  # handed to the test's thread
            raised.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    deadline = time.monotonic() + 60
    while len(list(folder.glob("pid-*"))) < 2:  # the trials' processes write these
        assert time.monotonic() < deadline, "the two trials did not start"
        time.sleep(0.1)
    client.stop_experiment("waited", reason="the step is not needed")
    waiter.join(timeout=30)

    assert not waiter.is_alive()
    [error] = raised
    assert isinstance(error, ExperimentFailedError)
    assert str(error) == (
        "experiment 'default/waited' was stopped before its end: the step is not needed"
    )
    assert error.experiment.state == "STOPPED"
