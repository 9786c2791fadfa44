"""Tune, then train with the best parameters, in one pipeline.

The `tune` step runs a Katib experiment (grid search over `x`, each trial a training job
that writes a model and prints its loss) with `headrace.tuning.run_experiment` and passes
on the best trial's parameters and model; `train` reads both. Run it on the platform with
`headrace run submit examples/tuning/tune_pipeline.py --watch`.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import json

from kfp import dsl

TRIAL = """
import os, pathlib
x = int(os.environ["X"])
out = pathlib.Path(os.environ["HEADRACE_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
(out / "model.txt").write_text(f"model trained with x={x}")
print(f"loss={(x - 2) ** 2}")
"""

# JSON (a YAML document on one line): the pipeline parameter's default stays one line
EXPERIMENT = json.dumps(
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
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "training-container",
                                        "command": ["python", "-c", TRIAL],
                                        "env": [{"name": "X", "value": "${trialParameters.x}"}],
                                    }
                                ]
                            }
                        }
                    },
                },
            },
        },
    }
)


@dsl.component
def tune(experiment: str, model: dsl.Output[dsl.Model]) -> str:
    import json

    from headrace.tuning import run_experiment

    done = run_experiment(experiment, model.path, timeout=600)
    return json.dumps(done.best_trial.parameters)


@dsl.component
def train(parameters: str, model: dsl.Input[dsl.Model]) -> str:
    import json
    import os

    with open(os.path.join(model.path, "model.txt")) as file:
        return f"{json.loads(parameters)['x']} | {file.read()}"


@dsl.pipeline(name="tune-then-train")
def tune_then_train(experiment: str = EXPERIMENT) -> str:
    tuned = tune(experiment=experiment)
    return train(parameters=tuned.outputs["Output"], model=tuned.outputs["model"]).output
