"""`make demo`'s pipeline: from raw data to a registered model promoted to ``production``.

Written with the plain kfp SDK (the steps import only what the platform environment provides:
scikit-learn, numpy, joblib, kfp, headrace) and run on Headrace:

    ingest    scikit-learn's breast-cancer data exported as a raw CSV, as a source system
              would hand it over: text labels, a few rows with a missing value, duplicates
    prepare   drop incomplete and duplicated rows, encode the label, stratified split
              -> train.csv, test.csv
    tune      a Katib experiment (`headrace.tuning.run_experiment`): a grid over C of a
              standardised LogisticRegression, each trial a training job that fits on part
              of train.csv and prints the validation accuracy; returns the best C
    train     fit on all of train.csv with the best C -> model.joblib (a folder holding it,
              the layout the model server loads with `--format sklearn`)
    evaluate  accuracy and F1 on test.csv (a Metrics output) and the model again as the output
              that registers it (`headrace.register_model`): the version gets the metrics
    promote   `Client.promote_model(..., "production", require="metrics.accuracy >= MIN")`:
              the registry moves the alias only if the condition holds on the version

    .venv/bin/headrace run submit examples/demo_pipeline.py --watch
    .venv/bin/headrace run submit examples/demo_pipeline.py -p c_grid=0.1,1,10 --watch

The promotion is decided by the registry: a version below ``min_accuracy`` is registered but
not promoted (the step says why, and the run still succeeds: the alias stays where it was).

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

BASE_IMAGE = "python:3.11"
MODEL_NAME = "breast-cancer"


@dsl.component(base_image=BASE_IMAGE)
def ingest(raw: Output[Dataset]) -> None:
    """The raw export: 30 measurements and a text diagnosis per row, some rows damaged."""
    import csv

    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    with open(raw.path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*data.feature_names, "diagnosis"])
        for i, (row, label) in enumerate(zip(data.data, data.target, strict=True)):
            cells = [f"{v:.6g}" for v in row] + [str(data.target_names[label])]
            if i % 97 == 13:
                cells[i % 30] = ""  # a measurement the source did not send
            out.writerow(cells)
            if i % 113 == 7:
                out.writerow(cells)  # sent twice
    raw.metadata["source"] = "sklearn.datasets.load_breast_cancer"


@dsl.component(base_image=BASE_IMAGE)
def prepare(
    raw: Input[Dataset], seed: int, train_data: Output[Dataset], test_data: Output[Dataset]
) -> None:
    """Clean the raw rows (incomplete and duplicated ones dropped, ``benign`` -> 1) and
    split them, stratified, into train and test CSVs."""
    import csv

    import numpy as np
    from sklearn.model_selection import train_test_split

    with open(raw.path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    seen: set[tuple[str, ...]] = set()
    kept = []
    for row in body:
        if any(cell.strip() == "" for cell in row) or tuple(row) in seen:
            continue
        seen.add(tuple(row))
        kept.append([float(v) for v in row[:-1]] + [1.0 if row[-1] == "benign" else 0.0])
    table = np.array(kept)
    x, y = table[:, :-1], table[:, -1]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    columns = [name.replace(" ", "_") for name in header[:-1]] + ["benign"]
    for artifact, part_x, part_y in ((train_data, x_train, y_train), (test_data, x_test, y_test)):
        np.savetxt(
            artifact.path,
            np.column_stack([part_x, part_y]),
            fmt="%.10g",
            delimiter=",",
            header=",".join(columns),
            comments="",
        )
        artifact.metadata["rows"] = len(part_y)
    train_data.metadata["dropped_rows"] = len(body) - len(kept)
    print(f"{len(body)} raw rows, {len(body) - len(kept)} dropped, {len(kept)} kept")


@dsl.component(base_image=BASE_IMAGE)
def tune(train_data: Input[Dataset], c_grid: str) -> float:
    """Grid-search C with a Katib experiment on the platform's tuner; the best C. Each trial
    fits on 70% of the training rows and prints the accuracy on the other 30%."""
    from headrace.tuning import run_experiment

    trial_code = """
import os
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

table = np.loadtxt(os.environ["TRAIN_DATA"], delimiter=",", skiprows=1)
x, y = table[:, :-1], table[:, -1].astype(int)
x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
estimator = make_pipeline(StandardScaler(), LogisticRegression(C=float(os.environ["C"])))
estimator.fit(x_fit, y_fit)
print(f"accuracy={estimator.score(x_val, y_val):.6f}")
"""

    values = [v.strip() for v in c_grid.split(",") if v.strip()]
    container = {
        "name": "training-container",
        "command": ["python", "-c", trial_code],
        "env": [
            {"name": "C", "value": "${trialParameters.c}"},
            {"name": "TRAIN_DATA", "value": train_data.path},
        ],
    }
    experiment = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": "tune-c"},
        "spec": {
            "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
            "algorithm": {"algorithmName": "grid"},
            "parallelTrialCount": 2,
            "maxTrialCount": len(values),
            "parameters": [
                {"name": "c", "parameterType": "discrete", "feasibleSpace": {"list": values}}
            ],
            "trialTemplate": {
                "trialParameters": [{"name": "c", "reference": "c"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {"template": {"spec": {"containers": [container]}}},
                },
            },
        },
    }
    done = run_experiment(experiment, timeout=600)
    best = done.best_trial
    assert best is not None
    print(f"best trial {best.name}: C={best.parameters['c']} accuracy={best.objective_value}")
    return float(str(best.parameters["c"]))


@dsl.component(base_image=BASE_IMAGE)
def train(train_data: Input[Dataset], c: float, model: Output[Model]) -> None:
    """Fit the standardised logistic regression on all the training rows."""
    import os

    import joblib
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = np.loadtxt(train_data.path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    estimator = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    estimator.fit(x, y)
    os.makedirs(model.path, exist_ok=True)
    joblib.dump(estimator, os.path.join(model.path, "model.joblib"))
    model.metadata["framework_version"] = sklearn.__version__
    model.metadata["C"] = c


@dsl.component(base_image=BASE_IMAGE)
def evaluate(
    model: Input[Model],
    test_data: Input[Dataset],
    model_name: str,
    metrics: Output[Metrics],
    registered: Output[Model],
) -> float:
    """Score the model on the held-out rows; register it with those metrics."""
    import os
    import shutil

    import joblib
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    estimator = joblib.load(os.path.join(model.path, "model.joblib"))
    table = np.loadtxt(test_data.path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    predicted = estimator.predict(x)
    accuracy = float(accuracy_score(y, predicted))
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("f1", float(f1_score(y, predicted)))
    metrics.log_metric("test_rows", len(y))

    shutil.copytree(model.path, registered.path)
    registered.metadata["headrace.register_model"] = model_name
    registered.metadata["headrace.model_framework"] = "sklearn"
    registered.metadata["headrace.model_description"] = (
        "StandardScaler + LogisticRegression on the breast-cancer data"
    )
    registered.metadata["C"] = model.metadata.get("C")
    print(f"accuracy {accuracy:.4f} on {len(y)} test rows")
    return accuracy


@dsl.component(base_image=BASE_IMAGE)
def promote(model: Input[Model], model_name: str, min_accuracy: float) -> str:
    """Point ``production`` at the registered version of ``model`` if its accuracy is at least
    ``min_accuracy``: the registry decides (the condition is checked on the version). The
    version is found by the artifact's content digest, so a cached ``evaluate`` (whose
    artifact another run registered) promotes that same version."""
    import os
    import time
    from pathlib import Path

    from headrace import Client
    from headrace.model_errors import PromotionRejectedError
    from headrace_artifacts import dir_digest, hash_file

    root = Path(model.path)
    files = [p for p in root.rglob("*") if p.is_file()]
    digest = "sha256:" + dir_digest(
        (p.relative_to(root).as_posix(), hash_file(p).sha256) for p in files
    )
    with Client(nats_url=os.environ.get("HEADRACE_NATS_URL") or None) as client:
        deadline = time.monotonic() + 120
        while True:  # registered once the artifact was written; its metrics come with it
            try:
                found = client.list_model_versions(model_name)
            except LookupError:
                found = []
            version = next(
                (v for v in found if v.digest == digest and "accuracy" in v.metrics), None
            )
            if version is not None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no version of {model_name!r} with digest {digest} and metrics.accuracy "
                    "was registered within 120 s: see `headrace model versions {model_name}`"
                )
            time.sleep(0.25)
        accuracy = version.metrics["accuracy"]
        try:
            client.promote_model(
                model_name,
                version.version,
                "production",
                require=f"metrics.accuracy >= {min_accuracy!r}",
                requested_by=f"run {os.environ.get('HEADRACE_RUN_ID', '')}",
            )
        except PromotionRejectedError as refused:
            said = f"{model_name} version {version.version} not promoted: {refused.reason}"
        else:
            said = f"{model_name}@production -> version {version.version} (accuracy {accuracy:.4f})"
    print(said)
    return said


@dsl.pipeline(
    name="demo-breast-cancer",
    description="Raw data -> prepare -> tune -> train -> evaluate -> register -> promote.",
)
def demo_pipeline(
    c_grid: str = "0.01,0.1,1",
    min_accuracy: float = 0.9,
    model_name: str = MODEL_NAME,
    seed: int = 7,
) -> str:
    raw = ingest()
    data = prepare(raw=raw.outputs["raw"], seed=seed)
    tuned = tune(train_data=data.outputs["train_data"], c_grid=c_grid)
    fitted = train(train_data=data.outputs["train_data"], c=tuned.output)
    scored = evaluate(
        model=fitted.outputs["model"],
        test_data=data.outputs["test_data"],
        model_name=model_name,
    )
    decided = promote(
        model=scored.outputs["registered"], model_name=model_name, min_accuracy=min_accuracy
    )
    decided.set_caching_options(False)  # it moves an alias: it runs every time
    return decided.output
