"""Two tuner replicas on one database drive one experiment: they race for every free slot,
and still every trial is suggested, recorded and run exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from optuna.trial import TrialState
from tuner_support import Platform, experiment, service, write

from headrace import Client
from headrace_testing import BlockingServiceProcess

TRIALS = 12


@pytest.fixture
def second_tuner(platform: Platform) -> Iterator[BlockingServiceProcess]:
    """A second tuner started together with the first (they race to make Optuna's tables)."""
    other = service("tuner", platform.home, platform.nats.url, platform.database_url)
    other.start()
    try:
        yield other
    finally:
        other.stop()


def test_two_replicas_share_an_experiment(
    second_tuner: BlockingServiceProcess, client: Client, platform: Platform
) -> None:
    doc = experiment(
        "replicas",
        "import os\nprint(f\"loss={float(os.environ['X']) ** 2}\")\n",
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "-1", "max": "1"}}],
        parallelTrialCount=4,
        maxTrialCount=TRIALS,
    )
    client.apply(write(platform.folder / "replicas", doc))
    done = client.wait_experiment("replicas", timeout=90)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached"), done.message
    numbers = [t.number for t in done.trials]
    assert len(set(numbers)) == TRIALS
    assert [(t.name, t.state, t.message) for t in done.trials if t.state != "SUCCEEDED"] == []
    study = platform.study(done.experiment_id)
    told = study.get_trials(deepcopy=False)
    # every trial run is told once; a suggestion two replicas raced for is handed out again
    # while slots remain, and failed in the study once the experiment has ended
    assert [t.number for t in told if t.state == TrialState.COMPLETE] == numbers
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in told)
    jobs = [j.name for j in client.list_jobs(limit=1000) if j.name.startswith("replicas-")]
    assert sorted(jobs) == sorted(t.name for t in done.trials)
    assert second_tuner.process is not None
    assert second_tuner.process.poll() is None  # both replicas ran throughout
    assert platform.tuner.process is not None
    assert platform.tuner.process.poll() is None
