"""Median stopping on a running platform: trials whose objective is worse than the median
of the finished trials at the same step are stopped (their processes are gone), end as
EarlyStopped, and their slots go to the next trials at once."""

from __future__ import annotations

from tuner_support import Platform, alive, experiment, wait_until, write

from headrace import Client

# Trials 0 and 1 learn well and finish; every later one does badly for 20 steps unless
# stopped. One step a little over a second apart: the trainer reports a metric's changes at
# most once a second, so each step's value reaches the tuner.
CODE = """
import os, pathlib, time
number = int(os.environ["NAME"].rsplit("-", 1)[1])
pathlib.Path(f"pid-{number}").write_text(str(os.getpid()))
good = number < 2
for step in range(1, 4 if good else 21):
    loss = 1.0 / step if good else 5.0 + step
    print(f"epoch={step} loss={loss}", flush=True)
    time.sleep(1.1)
pathlib.Path(f"finished-{number}").write_text("")
"""


def test_median_stopping_terminates_worse_trials(client: Client, platform: Platform) -> None:
    folder = platform.folder / "median"
    doc = experiment(
        "median",
        CODE,
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}],
        parallelTrialCount=2,
        maxTrialCount=5,
        earlyStopping={
            "algorithmName": "medianstop",
            "algorithmSettings": [
                {"name": "min_trials_required", "value": "2"},
                {"name": "start_step", "value": "1"},
            ],
        },
    )
    template = doc["spec"]["trialTemplate"]
    template["trialParameters"].append({"name": "name", "reference": "${trialSpec.Name}"})
    container = template["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "NAME", "value": "${trialParameters.name}"})
    client.apply(write(folder, doc))
    done = client.wait_experiment("median", timeout=90)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached")
    states = [(t.number, t.state) for t in done.trials]
    assert states == [
        (0, "SUCCEEDED"),
        (1, "SUCCEEDED"),
        (2, "EARLY_STOPPED"),
        (3, "EARLY_STOPPED"),
        (4, "EARLY_STOPPED"),
    ]
    assert done.best_trial is not None
    assert done.best_trial.objective_value == 1.0 / 3
    for trial in done.trials[2:]:
        assert trial.reason == "EarlyStopped"
        assert "worse than the median of the finished trials" in trial.message
        assert not (folder / f"finished-{trial.number}").exists()
        pid = int((folder / f"pid-{trial.number}").read_text())
        wait_until(client, "median", lambda _, pid=pid: not alive(pid), 30, f"stopped {pid}")
    assert done.trials_early_stopped == 3


def test_hyperband_stops_trials_by_their_reported_steps(client: Client, platform: Platform) -> None:
    code = (
        "import os, time\n"
        "x = float(os.environ['X'])\n"
        "for step in range(1, 10):\n"
        "    print(f'epoch={step} loss={x + 1.0 / step}', flush=True)\n"
        "    time.sleep(0.2)\n"
    )
    doc = experiment(
        "hyperband",
        code,
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "10"}}],
        algorithm="hyperband",
        settings={"eta": "3", "r_l": "9", "random_state": "1"},
        parallelTrialCount=3,
        maxTrialCount=12,
    )
    client.apply(write(platform.folder / "hyperband", doc))
    done = client.wait_experiment("hyperband", timeout=120)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached")
    assert done.trials_created == 12
    assert done.trials_succeeded + done.trials_early_stopped == 12
    stopped = [t for t in done.trials if t.state == "EARLY_STOPPED"]
    assert stopped  # trials worse than their bracket's best at a rung
    for trial in stopped:
        assert trial.message.startswith("Hyperband stopped it at step ")
        assert "loss" in trial.metrics  # what it reported before it was stopped
