"""The catalogue: every name the platform fixes, each on its subject and CloudEvents type."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import headrace_contracts
from headrace_contracts import CATALOGUE, Catalogue, Command, Event, Message, Query

# class name -> (subject, CloudEvents type); the wire names external systems rely on.
FIXED = {
    "SubmitRun": ("headrace.run.submit", "io.headrace.run.submit.v1"),
    "RunStarted": ("headrace.run.started", "io.headrace.run.started.v1"),
    "RunSucceeded": ("headrace.run.succeeded", "io.headrace.run.succeeded.v1"),
    "RunFailed": ("headrace.run.failed", "io.headrace.run.failed.v1"),
    "CancelRun": ("headrace.run.cancel", "io.headrace.run.cancel.v1"),
    "RunCancelled": ("headrace.run.cancelled", "io.headrace.run.cancelled.v1"),
    "RunRejected": ("headrace.run.rejected", "io.headrace.run.rejected.v1"),
    "StepReady": ("headrace.step.ready", "io.headrace.step.ready.v1"),
    "StepStarted": ("headrace.step.started", "io.headrace.step.started.v1"),
    "StepSucceeded": ("headrace.step.succeeded", "io.headrace.step.succeeded.v1"),
    "StepFailed": ("headrace.step.failed", "io.headrace.step.failed.v1"),
    "StepSkipped": ("headrace.step.skipped", "io.headrace.step.skipped.v1"),
    "StepCached": ("headrace.step.cached", "io.headrace.step.cached.v1"),
    "StepCancelled": ("headrace.step.cancelled", "io.headrace.step.cancelled.v1"),
    "CancelStep": ("headrace.step.cancel", "io.headrace.step.cancel.v1"),
    "ArtifactWritten": ("headrace.artifact.written", "io.headrace.artifact.written.v1"),
    "MetricReported": ("headrace.metric.reported", "io.headrace.metric.reported.v1"),
    "SubmitTrainingJob": ("headrace.trainingjob.submit", "io.headrace.trainingjob.submit.v1"),
    "TrainingJobStarted": ("headrace.trainingjob.started", "io.headrace.trainingjob.started.v1"),
    "TrainingJobSucceeded": (
        "headrace.trainingjob.succeeded",
        "io.headrace.trainingjob.succeeded.v1",
    ),
    "TrainingJobFailed": ("headrace.trainingjob.failed", "io.headrace.trainingjob.failed.v1"),
    "TrainingJobCancelled": (
        "headrace.trainingjob.cancelled",
        "io.headrace.trainingjob.cancelled.v1",
    ),
    "CancelTrainingJob": ("headrace.trainingjob.cancel", "io.headrace.trainingjob.cancel.v1"),
    "CreateExperiment": ("headrace.experiment.create", "io.headrace.experiment.create.v1"),
    "ExperimentStarted": ("headrace.experiment.started", "io.headrace.experiment.started.v1"),
    "ExperimentSucceeded": (
        "headrace.experiment.succeeded",
        "io.headrace.experiment.succeeded.v1",
    ),
    "ExperimentFailed": ("headrace.experiment.failed", "io.headrace.experiment.failed.v1"),
    "ExperimentStopped": ("headrace.experiment.stopped", "io.headrace.experiment.stopped.v1"),
    "StopExperiment": ("headrace.experiment.stop", "io.headrace.experiment.stop.v1"),
    "TrialCreated": ("headrace.trial.created", "io.headrace.trial.created.v1"),
    "TrialStarted": ("headrace.trial.started", "io.headrace.trial.started.v1"),
    "TrialSucceeded": ("headrace.trial.succeeded", "io.headrace.trial.succeeded.v1"),
    "TrialFailed": ("headrace.trial.failed", "io.headrace.trial.failed.v1"),
    "TrialEarlyStopped": ("headrace.trial.early_stopped", "io.headrace.trial.early_stopped.v1"),
    "RegisterModel": ("headrace.model.register", "io.headrace.model.register.v1"),
    "ModelVersionRegistered": (
        "headrace.model.version_registered",
        "io.headrace.model.version_registered.v1",
    ),
    "PromoteModel": ("headrace.model.promote", "io.headrace.model.promote.v1"),
    "ModelPromoted": ("headrace.model.promoted", "io.headrace.model.promoted.v1"),
    "PromotionRejected": (
        "headrace.model.promotion_rejected",
        "io.headrace.model.promotion_rejected.v1",
    ),
    "ApplyInferenceService": (
        "headrace.inferenceservice.apply",
        "io.headrace.inferenceservice.apply.v1",
    ),
    "InferenceServiceReady": (
        "headrace.inferenceservice.ready",
        "io.headrace.inferenceservice.ready.v1",
    ),
    "InferenceServiceFailed": (
        "headrace.inferenceservice.failed",
        "io.headrace.inferenceservice.failed.v1",
    ),
    "InferenceServiceScaled": (
        "headrace.inferenceservice.scaled",
        "io.headrace.inferenceservice.scaled.v1",
    ),
    "InferenceServiceDeleted": (
        "headrace.inferenceservice.deleted",
        "io.headrace.inferenceservice.deleted.v1",
    ),
    "ShiftTraffic": (
        "headrace.inferenceservice.shift_traffic",
        "io.headrace.inferenceservice.shift_traffic.v1",
    ),
    "TrafficShifted": (
        "headrace.inferenceservice.traffic_shifted",
        "io.headrace.inferenceservice.traffic_shifted.v1",
    ),
    "DeleteInferenceService": (
        "headrace.inferenceservice.delete",
        "io.headrace.inferenceservice.delete.v1",
    ),
    "Ping": ("headrace.query.system.ping", "io.headrace.system.ping.v1"),
}

COMMANDS = {
    "SubmitRun",
    "CancelRun",
    "CancelStep",
    "SubmitTrainingJob",
    "CancelTrainingJob",
    "CreateExperiment",
    "StopExperiment",
    "RegisterModel",
    "PromoteModel",
    "ApplyInferenceService",
    "ShiftTraffic",
    "DeleteInferenceService",
}


def _by_name() -> dict[str, type[Message]]:
    return {m.__name__: m for m in CATALOGUE}


@pytest.mark.parametrize(("name", "wire"), sorted(FIXED.items()))
def test_fixed_names(name: str, wire: tuple[str, str]) -> None:
    subject, ce_type = wire
    model = _by_name().get(name)
    assert model is not None, f"{name} is missing from the catalogue"
    assert model.subject() == subject
    assert model.ce_type() == ce_type
    assert CATALOGUE.by_type(ce_type) is model
    assert CATALOGUE.by_subject(subject) is model
    assert getattr(headrace_contracts, name) is model, f"{name} is not exported"
    assert name in headrace_contracts.__all__


def test_kinds() -> None:
    for name in FIXED:
        model = _by_name()[name]
        if name == "Ping":
            assert issubclass(model, Query)
        elif name in COMMANDS:
            assert issubclass(model, Command), name
            assert model.KIND == "command"
        else:
            assert issubclass(model, Event), name
            assert model.KIND == "event"


def test_no_duplicate_subjects_or_types() -> None:
    models = list(CATALOGUE)
    assert len(models) == len(CATALOGUE)
    assert len({m.subject() for m in models}) == len(models)
    assert len({m.ce_type() for m in models}) == len(models)
    assert len({m.__name__ for m in models}) == len(models)


def test_durable_queries_and_areas() -> None:
    durable = CATALOGUE.durable()
    queries = CATALOGUE.queries()
    telemetry = {m for m in CATALOGUE if m.KIND == "telemetry"}
    assert _by_name()["InferenceTrafficSummarized"] in telemetry
    assert set(durable) | set(queries) | telemetry == set(CATALOGUE)
    assert not set(durable) & set(queries)
    assert not (set(durable) | set(queries)) & telemetry
    assert all(t.subject().startswith("headrace.telemetry.") for t in telemetry)
    assert _by_name()["Ping"] in queries
    assert all(q.subject().startswith("headrace.query.") for q in queries)
    assert all(issubclass(q.REPLY, BaseModel) for q in queries)
    areas = CATALOGUE.areas()
    assert areas == sorted(areas)
    assert {
        "artifact",
        "experiment",
        "inferenceservice",
        "metric",
        "model",
        "run",
        "step",
        "trainingjob",
        "trial",
    } <= set(areas)
    # queries and dead letters have subject namespaces of their own, outside the stream
    assert "query" not in areas
    assert "dlq" not in areas
    assert "system" not in areas


def test_every_message_has_its_area_and_name_in_its_module() -> None:
    for model in CATALOGUE:
        assert model.AREA
        assert model.NAME
        assert model.VERSION >= 1
        assert model.model_config.get("frozen") is True
        assert model.model_config.get("extra") == "ignore"


def _example(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A minimal value for a JSON schema: required fields only, simplest branch."""
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in schema:
        return _example(schema["anyOf"][0], defs)
    kind = schema.get("type")
    if schema.get("format") == "date-time":
        return "2026-12-01T09:00:00Z"
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _example(properties[name], defs) for name in schema.get("required", [])}
    return {
        "string": "x",
        "integer": max(schema.get("minimum", 1), 1),
        "number": 1.5,
        "boolean": True,
        "array": [],
        "null": None,
    }.get(str(kind), "x")


@pytest.mark.parametrize("model", list(CATALOGUE), ids=lambda m: m.__name__)
def test_instantiates_from_its_own_schema(model: type[Message]) -> None:
    schema = model.model_json_schema()
    value = _example(schema, schema.get("$defs", {}))
    message = model.model_validate(value)
    assert set(schema.get("required", [])) <= set(type(message).model_fields)


def test_bad_area_or_name_token_raises_type_error() -> None:
    with pytest.raises(TypeError, match="AREA='Run'"):

        class BadArea(Event):
            AREA = "Run"
            NAME = "started"

    with pytest.raises(TypeError, match="NAME='has-dash'"):

        class BadName(Event):
            AREA = "run"
            NAME = "has-dash"

    with pytest.raises(TypeError, match="NAME=''"):

        class MissingName(Command):
            AREA = "run"

    with pytest.raises(TypeError, match=r"AREA='a\.\.b'"):

        class EmptyLevel(Event):
            AREA = "a..b"
            NAME = "x"


def test_dotted_area_is_levels() -> None:
    class Nested(Event):
        AREA = "serving.canary"
        NAME = "promoted_2"

    assert Nested.subject() == "headrace.serving.canary.promoted_2"
    assert Nested.ce_type() == "io.headrace.serving.canary.promoted_2.v1"
    assert Catalogue([Nested]).areas() == ["serving"]


def test_duplicate_declaration_raises_value_error() -> None:
    class Started(Event):
        AREA = "demo"
        NAME = "started"

    class AlsoStarted(Event):
        AREA = "demo"
        NAME = "started"

    with pytest.raises(ValueError, match=r"AlsoStarted and Started both declare"):
        Catalogue([Started, AlsoStarted])
    assert len(Catalogue([Started, Started])) == 1  # the same class twice is fine


def test_event_and_command_on_one_subject_raise_value_error() -> None:
    class Done(Event):
        AREA = "demo"
        NAME = "done"

    class DoneCommand(Command):
        AREA = "demo"
        NAME = "done"

    with pytest.raises(ValueError, match="both declare"):
        Catalogue([Done, DoneCommand])


def test_version_two_is_published_beside_version_one() -> None:
    class Finished(Event):
        AREA = "demo"
        NAME = "finished"

    class FinishedV2(Event):
        AREA = "demo"
        NAME = "finished"
        VERSION = 2

        outcome: str

    catalogue = Catalogue([FinishedV2, Finished])
    assert len(catalogue) == 2
    assert FinishedV2.subject() == Finished.subject()
    assert catalogue.by_type("io.headrace.demo.finished.v1") is Finished
    assert catalogue.by_type("io.headrace.demo.finished.v2") is FinishedV2
    assert catalogue.by_subject("headrace.demo.finished") is FinishedV2
    assert Catalogue([Finished, FinishedV2]).by_subject("headrace.demo.finished") is FinishedV2
