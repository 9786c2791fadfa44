"""A pipeline step runs a Katib experiment through `headrace.tuning.run_experiment` and
waits for it; the best trial's parameters and model feed the next step (real nats-server,
scheduler, trainer, tuner and metadata; trials are real processes)."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import yaml
from kfp import dsl
from pipeline_harness import Platform, step

from headrace_runtime import Service, Settings
from headrace_testing import TestNats
from headrace_tuner.app import build as build_tuner

pytestmark = pytest.mark.slow

TRIAL = """
import os, pathlib
x = int(os.environ["X"])
out = pathlib.Path(os.environ["HEADRACE_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
(out / "model.txt").write_text(f"model trained with x={x}")
print(f"loss={(x - 2) ** 2}")
"""


def experiment() -> str:
    container = {
        "name": "training-container",
        "command": ["python", "-c", TRIAL],
        "env": [{"name": "X", "value": "${trialParameters.x}"}],
    }
    return yaml.safe_dump(
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": "tune"},
            "spec": {
                "objective": {"type": "minimize", "objectiveMetricName": "loss"},
                "algorithm": {"algorithmName": "grid"},
                "parallelTrialCount": 2,
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
                        "spec": {"template": {"spec": {"containers": [container]}}},
                    },
                },
            },
        }
    )


@dsl.component
def tune(experiment: str, model: dsl.Output[dsl.Model]) -> str:
    import json

    from headrace.tuning import run_experiment

    done = run_experiment(experiment, model.path, timeout=120)
    return json.dumps(done.best_trial.parameters)


@dsl.component
def train(parameters: str, model: dsl.Input[dsl.Model]) -> str:
    import json
    import os

    with open(os.path.join(model.path, "model.txt")) as file:
        return f"{json.loads(parameters)['x']} | {file.read()}"


@dsl.pipeline(name="tune-then-train")
def tune_then_train(experiment: str) -> str:
    tuned = tune(experiment=experiment)
    return train(parameters=tuned.outputs["Output"], model=tuned.outputs["model"]).output


@pytest.fixture
async def platform(
    start_platform: Callable[..., Awaitable[Platform]],
    settings: Settings,
    nats_server: TestNats,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Platform]:
    # Steps run with the trainer's environment, where `headrace up` puts the bus's URL.
    monkeypatch.setenv("HEADRACE_NATS_URL", nats_server.url)
    found = await start_platform()
    tuner: Service = build_tuner(settings)
    await tuner.start()
    try:
        yield found
    finally:
        await tuner.stop()


async def test_a_step_tunes_and_the_next_trains_with_the_best(platform: Platform) -> None:
    run = await platform.run(tune_then_train, {"experiment": experiment()})
    assert run.state == "SUCCEEDED", run
    tuned, trained = step(run, "tune"), step(run, "train")
    assert tuned is not None
    assert trained is not None
    assert json.loads(tuned.output_parameters["Output"]) == {"x": "2"}
    assert trained.output_parameters["Output"] == "2 | model trained with x=2"
