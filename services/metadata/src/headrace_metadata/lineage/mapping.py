"""From a bus message to the lineage facts it implies (pure: no I/O).

Runs are ``system.PipelineRun`` contexts inside a ``system.Pipeline`` and a
``system.Experiment`` context; steps are executions associated with their run (and pipeline);
artifacts are attributed to the runs that read or wrote them, and INPUT/OUTPUT events tie
them to steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from headrace_contracts import (
    ArtifactRef,
    ArtifactWritten,
    Message,
    MetricReported,
    RunCancelled,
    RunFailed,
    RunRejected,
    RunStarted,
    RunSucceeded,
    StepCached,
    StepCancelled,
    StepFailed,
    StepReady,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    SubmitRun,
)

from .facts import (
    ArtifactFact,
    AssociationFact,
    AttributionFact,
    ContextFact,
    EventFact,
    ExecutionFact,
    Fact,
    ParentFact,
)

__all__ = ["EXPERIMENT", "MAPPERS", "PIPELINE", "RUN", "facts_for"]

RUN = "system.PipelineRun"
PIPELINE = "system.Pipeline"
EXPERIMENT = "system.Experiment"


def _artifact(ref: ArtifactRef) -> ArtifactFact:
    return ArtifactFact(
        uri=ref.uri,
        type_name=ref.schema_title,
        name=ref.name,
        digest=ref.digest,
        size=ref.size,
        is_dir=ref.is_dir,
        properties=dict(ref.metadata),
    )


def _in_run(run_id: str, pipeline: str = "") -> list[Fact]:
    found: list[Fact] = [ContextFact(RUN, run_id)]
    if pipeline:
        found += [ContextFact(PIPELINE, pipeline), ParentFact(RUN, run_id, PIPELINE, pipeline)]
    return found


def _step(run_id: str, step_id: str, pipeline: str = "") -> list[Fact]:
    found = [*_in_run(run_id, pipeline), AssociationFact(RUN, run_id, run_id, step_id)]
    if pipeline:
        found.append(AssociationFact(PIPELINE, pipeline, run_id, step_id))
    return found


def _artifacts(
    run_id: str, step_id: str, kind: str, refs: dict[str, list[ArtifactRef]]
) -> list[Fact]:
    found: list[Fact] = []
    for port, listed in refs.items():
        for index, ref in enumerate(listed):
            found += [
                _artifact(ref),
                EventFact(run_id, step_id, ref.uri, kind, port, index),
                AttributionFact(RUN, run_id, ref.uri),
            ]
    return found


def submit_run(m: SubmitRun) -> list[Fact]:
    pipeline = str((m.pipeline_spec.get("pipelineInfo") or {}).get("name") or "")
    props: dict[str, Any] = {"display_name": m.display_name} if m.display_name else {}
    if m.labels:
        props["labels"] = dict(m.labels)
    found = [ContextFact(RUN, m.run_id, properties=props), *_in_run(m.run_id, pipeline)]
    if m.experiment:
        found += [
            ContextFact(EXPERIMENT, m.experiment),
            ParentFact(RUN, m.run_id, EXPERIMENT, m.experiment),
        ]
    return found


def run_started(m: RunStarted) -> list[Fact]:
    props = {"step_count": m.step_count}
    return [ContextFact(RUN, m.run_id, "RUNNING", props), *_in_run(m.run_id, m.pipeline_name)]


def run_succeeded(m: RunSucceeded) -> list[Fact]:
    props = {"output_parameters": dict(m.output_parameters)} if m.output_parameters else {}
    found: list[Fact] = [ContextFact(RUN, m.run_id, "SUCCEEDED", props)]
    for listed in m.output_artifacts.values():
        for ref in listed:
            found += [_artifact(ref), AttributionFact(RUN, m.run_id, ref.uri)]
    return found


def run_failed(m: RunFailed) -> list[Fact]:
    return [ContextFact(RUN, m.run_id, "FAILED", {"reason": m.reason})]


def run_cancelled(m: RunCancelled) -> list[Fact]:
    return [ContextFact(RUN, m.run_id, "CANCELLED", {"reason": m.reason})]


def run_rejected(m: RunRejected) -> list[Fact]:
    return [ContextFact(RUN, m.run_id, "REJECTED", {"reason": m.reason})]


def step_ready(m: StepReady) -> list[Fact]:
    kind = "system.ImporterExecution" if "importer" in m.executor else "system.ContainerExecution"
    props: dict[str, Any] = {"task_name": m.task_name}
    if m.cache_key:
        props["cache_key"] = m.cache_key
    if m.inputs.parameters:
        props["input_parameters"] = dict(m.inputs.parameters)
    execution = ExecutionFact(m.run_id, m.step_id, kind, m.task_name, "NEW", m.attempt, props)
    return [
        execution,
        *_step(m.run_id, m.step_id, m.pipeline_name),
        *_artifacts(m.run_id, m.step_id, "INPUT", m.inputs.artifacts),
    ]


def step_started(m: StepStarted) -> list[Fact]:
    props = {"backend": m.backend, "worker": m.worker}
    running = ExecutionFact(
        m.run_id, m.step_id, state="RUNNING", attempt=m.attempt, properties=props
    )
    return [running, *_step(m.run_id, m.step_id)]


def step_succeeded(m: StepSucceeded) -> list[Fact]:
    props: dict[str, Any] = {"duration_seconds": m.duration_seconds}
    if m.output_parameters:
        props["output_parameters"] = dict(m.output_parameters)
    if m.log_uri:
        props["log_uri"] = m.log_uri
    done = ExecutionFact(m.run_id, m.step_id, state="COMPLETE", attempt=m.attempt, properties=props)
    return [
        done,
        *_step(m.run_id, m.step_id),
        *_artifacts(m.run_id, m.step_id, "OUTPUT", m.output_artifacts),
    ]


def step_failed(m: StepFailed) -> list[Fact]:
    props: dict[str, Any] = {"reason": m.reason}
    if m.exit_code is not None:
        props["exit_code"] = m.exit_code
    if m.log_uri:
        props["log_uri"] = m.log_uri
    failed = ExecutionFact(m.run_id, m.step_id, state="FAILED", attempt=m.attempt, properties=props)
    return [failed, *_step(m.run_id, m.step_id)]


def step_cached(m: StepCached) -> list[Fact]:
    props: dict[str, Any] = {"cache_key": m.cache_key}
    if m.source_run_id:
        props["cached_from"] = f"{m.source_run_id}/{m.source_step_id}"
    if m.output_parameters:
        props["output_parameters"] = dict(m.output_parameters)
    cached = ExecutionFact(m.run_id, m.step_id, state="CACHED", properties=props)
    return [
        cached,
        *_step(m.run_id, m.step_id),
        *_artifacts(m.run_id, m.step_id, "OUTPUT", m.output_artifacts),
    ]


def step_skipped(m: StepSkipped) -> list[Fact]:
    props = {"skipped": m.reason or "skipped"}
    skipped = ExecutionFact(m.run_id, m.step_id, state="CANCELED", properties=props)
    return [skipped, *_step(m.run_id, m.step_id)]


def step_cancelled(m: StepCancelled) -> list[Fact]:
    props = {"reason": m.reason} if m.reason else {}
    cancelled = ExecutionFact(m.run_id, m.step_id, state="CANCELED", properties=props)
    return [cancelled, *_step(m.run_id, m.step_id)]


def artifact_written(m: ArtifactWritten) -> list[Fact]:
    found: list[Fact] = [_artifact(m.artifact)]
    if m.producer:
        found.append(ArtifactFact(m.artifact.uri, properties={"producer": m.producer}))
    if m.run_id and m.step_id:
        found += [
            ExecutionFact(m.run_id, m.step_id),
            *_step(m.run_id, m.step_id),
            EventFact(m.run_id, m.step_id, m.artifact.uri, "OUTPUT", m.output_name),
            AttributionFact(RUN, m.run_id, m.artifact.uri),
        ]
    return found


def metric_reported(m: MetricReported) -> list[Fact]:
    if not (m.run_id and m.step_id):
        return []
    props: dict[str, Any] = {f"metric.{m.metric}": m.value}
    if m.step is not None:
        props[f"metric.{m.metric}.step"] = m.step
    return [ExecutionFact(m.run_id, m.step_id, properties=props), *_step(m.run_id, m.step_id)]


MAPPERS: dict[type[Message], Callable[[Any], list[Fact]]] = {
    SubmitRun: submit_run,
    RunStarted: run_started,
    RunSucceeded: run_succeeded,
    RunFailed: run_failed,
    RunCancelled: run_cancelled,
    RunRejected: run_rejected,
    StepReady: step_ready,
    StepStarted: step_started,
    StepSucceeded: step_succeeded,
    StepFailed: step_failed,
    StepCached: step_cached,
    StepSkipped: step_skipped,
    StepCancelled: step_cancelled,
    ArtifactWritten: artifact_written,
    MetricReported: metric_reported,
}
"""Every message type lineage records, and the function giving its facts."""


def facts_for(message: Message) -> Iterable[Fact]:
    """The facts ``message`` implies; none for a type lineage does not record."""
    mapper = MAPPERS.get(type(message))
    return mapper(message) if mapper else ()
