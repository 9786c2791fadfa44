"""The bus messages of one small pipeline run, as the platform publishes them: a dataset goes
into a train step that writes a model, an evaluate step reads it and writes metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from sqlmodel import Session

from headrace_contracts import (
    ArtifactRef,
    ArtifactWritten,
    Message,
    MetricReported,
    RunStarted,
    RunSucceeded,
    StepFailed,
    StepInputs,
    StepReady,
    StepStarted,
    StepSucceeded,
    SubmitRun,
)
from headrace_metadata.lineage.apply import apply_facts
from headrace_metadata.lineage.dump import dump
from headrace_metadata.lineage.mapping import facts_for

Store = Callable[[str], Engine]
"""A fresh lineage store by name (the ``store`` fixture)."""

RUN = "run-1"
DATASET = ArtifactRef(uri="file:///data/train.csv", schema_title="system.Dataset")
MODEL = ArtifactRef(
    uri="file:///home/artifacts/run-1/train/model",
    name="model",
    schema_title="system.Model",
    digest="sha256:abc",
    size=12,
    metadata={"framework": "sklearn"},
)
METRICS = ArtifactRef(
    uri="file:///home/artifacts/run-1/evaluate/metrics",
    name="metrics",
    schema_title="system.Metrics",
    metadata={"accuracy": 0.97},
)
SPEC = {"pipelineInfo": {"name": "churn"}, "root": {}}


def run_events() -> list[Message]:
    ids = {"run_id": RUN}
    train = {**ids, "step_id": "train"}
    evaluate = {**ids, "step_id": "evaluate"}
    return [
        SubmitRun(run_id=RUN, pipeline_spec=SPEC, experiment="churn-exp", labels={"team": "a"}),
        RunStarted(**ids, pipeline_name="churn", step_count=2),
        StepReady(
            **train,
            task_name="train",
            executor={"container": {"image": "python"}},
            inputs=StepInputs(parameters={"epochs": 3}, artifacts={"data": [DATASET]}),
            pipeline_name="churn",
        ),
        StepStarted(**train, worker="trainer-0"),
        StepFailed(**train, reason="out of memory", exit_code=137),
        StepReady(
            **train,
            task_name="train",
            attempt=2,
            executor={"container": {"image": "python"}},
            inputs=StepInputs(parameters={"epochs": 3}, artifacts={"data": [DATASET]}),
            pipeline_name="churn",
        ),
        StepStarted(**train, attempt=2, worker="trainer-0"),
        ArtifactWritten(artifact=MODEL, **train, output_name="model"),
        StepSucceeded(**train, attempt=2, output_artifacts={"model": [MODEL]}),
        StepReady(
            **evaluate,
            task_name="evaluate",
            executor={"container": {"image": "python"}},
            inputs=StepInputs(artifacts={"model": [MODEL]}),
            pipeline_name="churn",
        ),
        StepStarted(**evaluate, worker="trainer-0"),
        ArtifactWritten(artifact=METRICS, **evaluate, output_name="metrics"),
        MetricReported(metric="accuracy", value=0.97, **evaluate),
        StepSucceeded(**evaluate, output_artifacts={"metrics": [METRICS]}),
        RunSucceeded(**ids, output_artifacts={"metrics": [METRICS]}),
    ]


def feed(engine: Engine, messages: Sequence[Message]) -> dict[str, list[dict[str, object]]]:
    """Each message in a transaction of its own, as the service handles them; then the store."""
    for message in messages:
        with Session(engine) as session:
            apply_facts(session, facts_for(message))
            session.commit()
    with Session(engine) as session:
        return dump(session)
