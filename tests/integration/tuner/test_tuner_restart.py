"""A tuner killed with ``kill -9`` in the middle of an experiment, then started again: the
experiment goes on from its tables and its Optuna study, and every trial is accounted for
exactly once — in the tuner, in the study and as a training job of the trainer. (A
suggestion made but not recorded before the kill is handed out again; an ask killed before
it made its suggestion leaves a gap in the trial numbers.)"""

from __future__ import annotations

from optuna.trial import TrialState
from tuner_support import Platform, experiment, ready, wait_until, write

from headrace import Client

CODE = (
    "import os, time\nx = float(os.environ['X'])\ntime.sleep(0.5)\nprint(f'loss={(x - 1) ** 2}')\n"
)
TRIALS = 10


def test_kill_9_mid_experiment_loses_and_repeats_nothing(
    client: Client, platform: Platform
) -> None:
    doc = experiment(
        "restarted",
        CODE,
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "-3", "max": "3"}}],
        algorithm="tpe",
        settings={"n_startup_trials": "3", "random_state": "5"},
        parallelTrialCount=3,
        maxTrialCount=TRIALS,
    )
    client.apply(write(platform.folder / "restarted", doc))
    for seen in (2, 6):  # killed twice, at different points of the experiment
        wait_until(client, "restarted", lambda e, n=seen: e.trials_created >= n, 60, f"made {seen}")
        platform.tuner.kill()
        platform.restart_tuner()
        ready(client)
    done = client.wait_experiment("restarted", timeout=90)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached"), done.message
    numbers = [t.number for t in done.trials]
    assert len(set(numbers)) == TRIALS
    assert all(t.state == "SUCCEEDED" for t in done.trials)
    # a resumed sampler does not replay what it suggested before the kill
    assert len({t.parameters["x"] for t in done.trials}) == TRIALS
    names = [t.name for t in done.trials]
    assert len(set(names)) == TRIALS
    for trial in done.trials:
        assert trial.objective_value == (float(trial.parameters["x"]) - 1) ** 2

    study = platform.study(done.experiment_id)
    told = study.get_trials(deepcopy=False)
    complete = [t for t in told if t.state == TrialState.COMPLETE]
    assert [t.number for t in complete] == numbers
    assert [t.value for t in complete] == [t.objective_value for t in done.trials]
    # a kill in the middle of an ask leaves a trial without its parameters: no suggestion
    # was made, and it is failed in the study once the experiment ends
    for other in told:
        if other.state != TrialState.COMPLETE:
            assert other.state == TrialState.FAIL
            assert set(other.params) != {"x"}

    jobs = [j.name for j in client.list_jobs(limit=1000) if j.name.startswith("restarted-")]
    assert sorted(jobs) == sorted(names)  # one training job per trial, none twice
