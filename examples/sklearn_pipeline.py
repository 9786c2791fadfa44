"""A KFP v2 pipeline that trains and evaluates a scikit-learn classifier.

Written with the plain kfp SDK, so the same file runs on Kubeflow Pipelines, on
``kfp.local`` and on Headrace. The steps import only what the platform environment
provides (scikit-learn, numpy, kfp) and install nothing.

    prepare   breast-cancer data set shipped with scikit-learn -> train.csv, test.csv
    train     StandardScaler + LogisticRegression(C, max_iter) -> model.pkl
    evaluate  accuracy, F1, confusion matrix, a Markdown report; returns the accuracy

    .venv/bin/python examples/sklearn_pipeline.py               # writes sklearn_pipeline.yaml
    .venv/bin/python examples/sklearn_pipeline.py --run-local   # runs it on kfp.local

``--run-local`` uses ``kfp.local.SubprocessRunner(use_venv=False)``: every step first runs
``python -m pip install kfp==<version> --no-deps`` (a no-op check when kfp is installed), so
the interpreter needs pip; a uv-made ``.venv`` has none.
"""

# kfp ships no type information, and a pipeline function returns a channel that stands for
# its declared type. No `from __future__ import annotations`: kfp reads the annotations.
# mypy: disable-error-code="untyped-decorator,no-any-return"
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from kfp import compiler, dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

BASE_IMAGE = "python:3.11"
YAML_PATH = Path(__file__).with_suffix(".yaml")


@dsl.component(base_image=BASE_IMAGE)
def prepare(
    seed: int, test_size: float, train_data: Output[Dataset], test_data: Output[Dataset]
) -> None:
    """Split scikit-learn's breast-cancer data set into stratified train and test CSVs."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=test_size, random_state=seed, stratify=data.target
    )
    columns = [name.replace(" ", "_") for name in data.feature_names] + ["target"]
    for artifact, x, y in ((train_data, x_train, y_train), (test_data, x_test, y_test)):
        table = np.column_stack([x, y])
        np.savetxt(
            artifact.path, table, fmt="%.10g", delimiter=",", header=",".join(columns), comments=""
        )
        artifact.metadata["rows"] = int(table.shape[0])
        artifact.metadata["features"] = int(x.shape[1])
        artifact.metadata["source"] = "sklearn.datasets.load_breast_cancer"


@dsl.component(base_image=BASE_IMAGE)
def train(
    train_data: Input[Dataset], c: float, max_iter: int, seed: int, model: Output[Model]
) -> None:
    """Fit a standardised logistic regression and pickle it."""
    import pickle

    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = np.loadtxt(train_data.path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    estimator = make_pipeline(
        StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
    )
    estimator.fit(x, y)
    with open(model.path, "wb") as f:
        pickle.dump(estimator, f)
    model.metadata["framework"] = "scikit-learn"
    model.metadata["framework_version"] = sklearn.__version__
    model.metadata["estimator"] = "StandardScaler+LogisticRegression"
    model.metadata["C"] = c
    model.metadata["max_iter"] = max_iter
    model.metadata["train_accuracy"] = float(estimator.score(x, y))


@dsl.component(base_image=BASE_IMAGE)
def evaluate(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    report: Output[Markdown],
) -> float:
    """Score the model on the held-out set; log metrics, a confusion matrix and a report."""
    import pickle

    import numpy as np
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    with open(model.path, "rb") as f:
        estimator = pickle.load(f)
    table = np.loadtxt(test_data.path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    predicted = estimator.predict(x)
    accuracy = float(accuracy_score(y, predicted))
    f1 = float(f1_score(y, predicted))
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("f1", f1)
    metrics.log_metric("test_rows", len(y))

    labels = ["malignant", "benign"]  # target 0 and 1 in load_breast_cancer
    matrix = confusion_matrix(y, predicted, labels=[0, 1])
    confusion.log_confusion_matrix(labels, matrix.tolist())

    rows = "\n".join(
        f"| {labels[i]} | {matrix[i][0]} | {matrix[i][1]} |" for i in range(len(labels))
    )
    with open(report.path, "w") as f:
        f.write(
            "# Breast-cancer classifier\n\n"
            f"Model: {model.metadata.get('estimator', '?')}, C={model.metadata.get('C')}\n\n"
            f"| metric | value |\n|---|---|\n| accuracy | {accuracy:.4f} |\n| F1 | {f1:.4f} |\n"
            f"| test rows | {len(y)} |\n\n"
            f"| true \\ predicted | {labels[0]} | {labels[1]} |\n|---|---|---|\n{rows}\n"
        )
    return accuracy


@dsl.pipeline(
    name="sklearn-breast-cancer",
    description="Prepare, train and evaluate a scikit-learn logistic regression.",
)
def sklearn_pipeline(
    seed: int = 42, test_size: float = 0.25, c: float = 1.0, max_iter: int = 1000
) -> float:
    data = prepare(seed=seed, test_size=test_size)
    fitted = train(train_data=data.outputs["train_data"], c=c, max_iter=max_iter, seed=seed)
    scored = evaluate(model=fitted.outputs["model"], test_data=data.outputs["test_data"])
    return scored.outputs["Output"]


def _has_pip() -> bool:
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, check=False
    )
    return probe.returncode == 0


def run_local(pipeline_root: Path) -> float:
    """Run the pipeline on kfp.local in this interpreter; return the accuracy."""
    from kfp import local

    if not _has_pip():
        raise SystemExit(
            f"{sys.executable} has no pip, and each kfp.local step runs "
            "`python -m pip install kfp --no-deps` first: run this with an interpreter that "
            "has pip and sees kfp and scikit-learn (e.g. a venv whose .pth file points at "
            ".venv's site-packages)."
        )
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    task = sklearn_pipeline()
    return float(task.output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=YAML_PATH, help="where to write the YAML")
    parser.add_argument("--run-local", action="store_true", help="run it on kfp.local instead")
    parser.add_argument(
        "--pipeline-root",
        type=Path,
        help="where kfp.local writes artifacts (default: a new temporary folder)",
    )
    args = parser.parse_args()
    if args.run_local:
        root = args.pipeline_root or Path(tempfile.mkdtemp(prefix="kfp-local-"))
        print(f"accuracy {run_local(root):.4f} (artifacts under {root})")
        return
    compiler.Compiler().compile(sklearn_pipeline, str(args.output))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
