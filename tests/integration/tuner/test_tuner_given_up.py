"""A tuner message the bus gives up on shows on the experiment or trial it concerns: a create
whose row cannot be written leaves the experiment FAILED with the error; a stop that cannot be
written leaves it RUNNING and `headrace experiment stop` says why; a trial event given up
fails the trial (and deletes its job), so the experiment's accounting stays whole. Real
nats-server, a real tuner on real SQLite (no trainer: the trials' jobs are only sent); the
fault is raised inside the database driver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuner_support import experiment, write

from headrace import Client
from headrace.cli import main
from headrace.experiment_errors import ExperimentError
from headrace_contracts import (
    CancelTrainingJob,
    ExperimentFailed,
    TrainingJobRunning,
    TrialFailed,
)
from headrace_testing import nats_for_test, service_settings, wait_for
from headrace_testing.background import Background
from headrace_testing.faults import StoreFault, parameter_values
from headrace_tuner.app import build

PARAMETERS = [
    {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}}
]


@pytest.fixture
def tuner(tmp_path: Path) -> Iterator[Background]:
    with nats_for_test(tmp_path) as nats:
        settings = service_settings(tmp_path / "home", nats.url, max_deliver=2)
        background = Background(
            nats.url, "headrace.experiment.>", "headrace.trial.>", "headrace.trainingjob.>"
        )
        try:
            background.start(build(settings, interval=0.2))
            yield background
        finally:
            background.stop()


def _fault(tuner: Background, statement: str, marker: str, *, absent: bool = False) -> StoreFault:
    (service,) = tuner.services
    assert service.engine is not None

    def when(parameters: object) -> bool:
        found = marker in parameter_values(parameters)
        return not found if absent else found

    return StoreFault(service.engine, statement=statement, when=when)


def test_a_create_the_bus_gives_up_on_fails_the_experiment_with_the_error(
    tuner: Background, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, experiment("lost", "print('loss=1')", PARAMETERS, maxTrialCount=1))
    fault = _fault(tuner, "INSERT INTO tuner_experiments", "FAILED", absent=True)
    try:
        assert main(["apply", "-f", str(path), "--nats-url", tuner.url]) == 0
        with Client(nats_url=tuner.url, timeout=10.0) as client:
            found = client.wait_experiment("lost", timeout=30)
    finally:
        fault.remove()
    printed = capsys.readouterr()
    assert printed.out == "experiment.kubeflow.org/lost created\n"
    assert printed.err.startswith(
        "headrace: experiment 'default/lost' failed (CreateFailed): the tuner could not create "
        "the experiment: failed 2 deliveries"
    )
    assert 2 <= fault.hits <= 3
    assert found.state == "FAILED"
    assert found.reason == "CreateFailed"
    assert found.message.startswith(
        "the tuner could not create the experiment: failed 2 deliveries; last error "
        "OperationalError: (sqlite3.OperationalError) database is locked ("
    )
    assert found.trials_created == 0
    asyncio.run(wait_for(lambda: bool(tuner.of(ExperimentFailed, condition="CreateFailed")), 30))
    (event,) = tuner.of(ExperimentFailed, experiment_id=found.experiment_id)
    assert event.reason == found.message
    assert main(["experiment", "get", "lost", "--nats-url", tuner.url]) == 0
    shown = capsys.readouterr().out
    assert "State:      FAILED (CreateFailed)" in shown
    assert "the tuner could not create the experiment" in shown


def test_a_stop_the_bus_gives_up_on_is_reported_and_the_experiment_runs_on(
    tuner: Background, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, experiment("held", "print('loss=1')", PARAMETERS, maxTrialCount=2))
    with Client(nats_url=tuner.url, timeout=10.0) as client:
        client.submit_timeout = 30.0
        client.apply(path)
        fault = _fault(tuner, "UPDATE tuner_experiments", "STOPPED")
        try:
            with pytest.raises(ExperimentError) as caught:
                client.stop_experiment("held")
            assert "experiment 'held' was not stopped: the tuner could not stop the " in str(
                caught.value
            )
            # the CLI says the same, and exits non-zero
            assert main(["experiment", "stop", "held", "--nats-url", tuner.url]) != 0
            assert "was not stopped: the tuner could not stop" in capsys.readouterr().err
        finally:
            fault.remove()
        found = client.get_experiment("held")
        assert found.state == "RUNNING"
        assert found.reason == "StopFailed"
        # once the database works, the stop does
        assert client.stop_experiment("held").state == "STOPPED"


def test_a_trial_event_the_bus_gives_up_on_fails_the_trial(
    tuner: Background, tmp_path: Path
) -> None:
    path = write(tmp_path, experiment("trial", "print('loss=1')", PARAMETERS, maxTrialCount=1))
    with Client(nats_url=tuner.url, timeout=10.0) as client:
        client.submit_timeout = 30.0
        client.apply(path)
        asyncio.run(wait_for(lambda: bool(client.experiment_trials("trial")), 30))
        (trial,) = client.experiment_trials("trial")
        fault = _fault(tuner, "UPDATE tuner_trials", "RUNNING")
        try:
            tuner.publish(TrainingJobRunning(job_id=trial.job_id))
            asyncio.run(wait_for(lambda: bool(tuner.of(TrialFailed, trial_id=trial.name)), 30))
        finally:
            fault.remove()
        (failed,) = client.experiment_trials("trial")
        assert failed.state == "FAILED"
        assert failed.reason == "TrialFailed"
        assert failed.message.startswith(
            "the tuner could not record its job's TrainingJobRunning: failed 2 deliveries"
        )
        asyncio.run(wait_for(lambda: bool(tuner.of(CancelTrainingJob, job_id=trial.job_id)), 30))
        # the experiment counts it and ends (its only trial failed)
        ended = client.wait_experiment("trial", timeout=30)
        assert ended.trials_failed == 1
