"""CloudEvents 1.0 binary mode: encode, decode, and the errors a publisher sees."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest

from headrace_contracts import (
    CATALOGUE,
    ArtifactRef,
    ArtifactWritten,
    CancelRun,
    ContractError,
    Envelope,
    InvalidCloudEvent,
    InvalidMessageData,
    Message,
    MetricReported,
    Ping,
    StepReady,
    SubmitRun,
    UnknownMessageType,
    decode,
    derive_event_id,
    encode,
)
from headrace_contracts.cloudevents import new_event_id
from headrace_contracts.steps import StepInputs

SOURCE = "/tests/contracts"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _headers(ce_type: str = "io.headrace.run.cancel.v1", **extra: str) -> dict[str, str]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "evt-1",
        "ce-source": "/my-system",
        "ce-type": ce_type,
        "content-type": "application/json",
    }
    headers.update(extra)
    return headers


def _roundtrip(message: Message) -> Envelope[Message]:
    subject, data, headers = encode(message, source=SOURCE)
    assert subject == message.subject()
    return decode(headers, data, CATALOGUE, subject=subject)


MESSAGES = [
    SubmitRun(
        run_id="run-1",
        pipeline_spec={"root": {"dag": {"tasks": {}}}, "schemaVersion": "2.1.0"},
        arguments={
            "epochs": 3,
            "lr": 0.001,
            "ratio": 1.0,
            "layers": [64, 32, 1.5],
            "nested": {"a": {"b": [1, {"c": 2}]}, "flag": True, "none": None},
            "name": "x",
        },
        labels={"team": "ml"},
    ),
    StepReady(
        run_id="run-1",
        step_id="root/for-loop-2[3]/train",
        task_name="train",
        executor={"container": {"image": "python:3.11", "command": ["python", "-c", "1"]}},
        inputs=StepInputs(
            parameters={"seed": 7, "weights": [0.5, 2]},
            artifacts={"data": [ArtifactRef(uri="file:///tmp/d", size=10, metadata={"n": 1})]},
        ),
        timeout_seconds=60.0,
    ),
    ArtifactWritten(artifact=ArtifactRef(uri="s3://bucket/model", digest="sha256:ab")),
    MetricReported(metric="accuracy", value=0.93, run_id="run-1", step=4),
    CancelRun(run_id="run-1"),
    Ping(service="scheduler"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_roundtrip_preserves_the_message_exactly(message: Message) -> None:
    envelope = _roundtrip(message)
    assert type(envelope.message) is type(message)
    assert envelope.message == message
    assert envelope.message.model_dump() == message.model_dump()
    assert envelope.type == message.ce_type()
    assert envelope.source == SOURCE
    assert envelope.subject == message.subject()


def test_json_types_are_preserved() -> None:
    envelope = _roundtrip(MESSAGES[0])
    arguments = envelope.message.model_dump()["arguments"]
    assert arguments["epochs"] == 3
    assert type(arguments["epochs"]) is int
    assert type(arguments["lr"]) is float
    assert type(arguments["ratio"]) is float  # 1.0 stays a float, not 1
    assert [type(v) for v in arguments["layers"]] == [int, int, float]
    assert arguments["nested"] == {"a": {"b": [1, {"c": 2}]}, "flag": True, "none": None}
    assert type(arguments["nested"]["a"]["b"][1]["c"]) is int

    step = _roundtrip(MESSAGES[1]).message
    assert isinstance(step, StepReady)
    assert [type(v) for v in step.inputs.parameters["weights"]] == [float, int]
    assert type(step.inputs.artifacts["data"][0].metadata["n"]) is int
    assert step.inputs.artifacts["data"][0] == ArtifactRef(
        uri="file:///tmp/d", size=10, metadata={"n": 1}
    )


def test_encode_sets_the_cloudevent_headers() -> None:
    when = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
    subject, data, headers = encode(
        CancelRun(run_id="r-42"),
        source=SOURCE,
        event_id="evt-42",
        time=when,
        ce_subject="r-42",
    )
    assert subject == "headrace.run.cancel"
    assert json.loads(data) == {"run_id": "r-42", "reason": "cancelled by user"}
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "evt-42",
        "ce-source": SOURCE,
        "ce-type": "io.headrace.run.cancel.v1",
        "ce-time": "2026-01-31T12:00:00Z",
        "ce-subject": "r-42",
        "content-type": "application/json",
        "Nats-Msg-Id": "evt-42",
    }
    envelope = decode(headers, data, CATALOGUE)
    assert envelope.time == when
    assert envelope.id == "evt-42"
    assert envelope.headers["ce-subject"] == "r-42"


def test_encode_defaults_id_and_time() -> None:
    before = datetime.now(UTC)
    _, _, first = encode(CancelRun(run_id="r"), source=SOURCE)
    _, _, second = encode(CancelRun(run_id="r"), source=SOURCE)
    assert first["ce-id"]
    assert first["ce-id"] != second["ce-id"]
    assert first["Nats-Msg-Id"] == first["ce-id"]
    assert RFC3339_Z.match(first["ce-time"]), first["ce-time"]
    when = datetime.fromisoformat(first["ce-time"])
    assert before - timedelta(seconds=1) <= when <= datetime.now(UTC) + timedelta(seconds=1)
    assert "ce-subject" not in first


def test_new_event_ids_are_random_version_4_uuids() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for event_id in ids:
        parsed = uuid.UUID(event_id)
        assert str(parsed) == event_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # Every hex digit outside the version and variant positions varies.
    free = [i for i in range(36) if i not in (8, 13, 14, 18, 19, 23)]
    assert all(len({event_id[i] for event_id in ids}) == 16 for i in free)
    assert {event_id[19] for event_id in ids} == set("89ab")


def test_encode_time_is_utc_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    _, _, headers = encode(
        CancelRun(run_id="r"), source=SOURCE, time=datetime(2026, 1, 31, 14, 0, tzinfo=plus_two)
    )
    assert headers["ce-time"] == "2026-01-31T12:00:00Z"
    _, _, naive = encode(CancelRun(run_id="r"), source=SOURCE, time=datetime(2026, 1, 31, 12))
    assert naive["ce-time"] == "2026-01-31T12:00:00Z"


@pytest.mark.parametrize("missing", ["ce-specversion", "ce-id", "ce-source", "ce-type"])
def test_decode_names_each_missing_header(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    with pytest.raises(InvalidCloudEvent, match=missing) as info:
        decode(headers, b'{"run_id": "r"}', CATALOGUE, subject="headrace.run.cancel")
    assert "headrace.run.cancel" in str(info.value)


def test_decode_names_all_missing_headers_and_empty_ones() -> None:
    with pytest.raises(InvalidCloudEvent) as info:
        decode({"ce-id": ""}, b"{}", CATALOGUE)
    for name in ("ce-specversion", "ce-id", "ce-source", "ce-type"):
        assert name in str(info.value)
    with pytest.raises(InvalidCloudEvent, match="ce-specversion"):
        decode(None, b"{}", CATALOGUE)


def test_decode_rejects_other_specversion() -> None:
    with pytest.raises(InvalidCloudEvent, match=r"'0\.3'.*'1\.0'"):
        decode(_headers(**{"ce-specversion": "0.3"}), b'{"run_id": "r"}', CATALOGUE)


def test_decode_content_type() -> None:
    with pytest.raises(InvalidCloudEvent, match="text/plain"):
        decode(_headers(**{"content-type": "text/plain"}), b'{"run_id": "r"}', CATALOGUE)
    charset = _headers(**{"content-type": "application/json; charset=utf-8"})
    assert decode(charset, b'{"run_id": "r"}', CATALOGUE).message == CancelRun(run_id="r")
    no_content_type = _headers()
    del no_content_type["content-type"]
    assert decode(no_content_type, b'{"run_id": "r"}', CATALOGUE).message == CancelRun(run_id="r")


def test_decode_unknown_type_names_it() -> None:
    with pytest.raises(UnknownMessageType) as info:
        decode(_headers("io.headrace.run.explode.v1"), b"{}", CATALOGUE)
    assert info.value.ce_type == "io.headrace.run.explode.v1"
    assert "io.headrace.run.explode.v1" in str(info.value)
    assert "docs/asyncapi.json" in str(info.value)
    assert isinstance(info.value, ContractError)
    assert info.value.retryable is False


def test_decode_invalid_data_names_the_field_path() -> None:
    data = {
        "run_id": "r",
        "step_id": "s",
        "task_name": "t",
        "executor": {},
        "inputs": {"artifacts": {"data": [{"name": "no uri"}]}},
    }
    with pytest.raises(InvalidMessageData) as info:
        decode(_headers("io.headrace.step.ready.v1"), json.dumps(data).encode(), CATALOGUE)
    assert info.value.ce_type == "io.headrace.step.ready.v1"
    assert "inputs.artifacts.data.0.uri" in info.value.detail
    assert "inputs.artifacts.data.0.uri" in str(info.value)


def test_decode_invalid_data_missing_and_wrong_type() -> None:
    with pytest.raises(InvalidMessageData, match="run_id: Field required"):
        decode(_headers(), b"{}", CATALOGUE)
    with pytest.raises(InvalidMessageData, match="canary_percent"):
        decode(
            _headers("io.headrace.inferenceservice.shift_traffic.v1"),
            b'{"service_name": "s", "canary_percent": 101}',
            CATALOGUE,
        )


@pytest.mark.parametrize("data", [b"not json", b"", b"[1, 2]", b'{"run_id": '])
def test_decode_non_json_or_non_object_data(data: bytes) -> None:
    with pytest.raises(InvalidMessageData) as info:
        decode(_headers(), data, CATALOGUE)
    assert info.value.ce_type == "io.headrace.run.cancel.v1"


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-01T00:00:00Z", "2026-01-31T12:00:00", "2026-01-31"]
)
def test_decode_rejects_bad_ce_time(value: str) -> None:
    with pytest.raises(InvalidCloudEvent, match="RFC 3339"):
        decode(_headers(**{"ce-time": value}), b'{"run_id": "r"}', CATALOGUE)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00:00.250Z", datetime(2026, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2026-01-31T14:00:00+02:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ],
)
def test_decode_ce_time(value: str, expected: datetime) -> None:
    envelope = decode(_headers(**{"ce-time": value}), b'{"run_id": "r"}', CATALOGUE)
    assert envelope.time == expected
    assert envelope.time is not None
    assert envelope.time.tzinfo is not None


def test_decode_without_ce_time() -> None:
    assert decode(_headers(), b'{"run_id": "r"}', CATALOGUE).time is None


def test_unknown_fields_are_ignored() -> None:
    data = {"run_id": "r", "reason": "why", "added_in_a_later_release": {"x": 1}}
    envelope = decode(_headers(), json.dumps(data).encode(), CATALOGUE)
    assert envelope.message == CancelRun(run_id="r", reason="why")
    assert "added_in_a_later_release" not in envelope.message.model_dump()


def test_derive_event_id_is_deterministic_and_distinct() -> None:
    first = derive_event_id("cause-1", "step-ready", "root/train")
    assert first == derive_event_id("cause-1", "step-ready", "root/train")
    others = {
        derive_event_id("cause-2", "step-ready", "root/train"),
        derive_event_id("cause-1", "step-ready", "root/eval"),
        derive_event_id("cause-1", "step-ready"),
        derive_event_id("cause-1"),
        # parts that contain the old "/" separator must not run together
        derive_event_id("cause-1", "step-ready/root", "train"),
        derive_event_id("cause-1", "step-ready", "root", "train"),
    }
    assert first not in others
    assert len(others) == 6
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", first)


def test_messages_are_frozen() -> None:
    message = CancelRun(run_id="r")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        message.run_id = "other"  # type: ignore[misc]
    ref = ArtifactRef(uri="file:///x")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        ref.uri = "file:///y"  # type: ignore[misc]
