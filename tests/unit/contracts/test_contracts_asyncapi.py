"""The AsyncAPI document: generated from the catalogue, committed, and never drifting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from headrace_contracts import CATALOGUE, Catalogue, Event, Query, Reply, Telemetry
from headrace_contracts.asyncapi import build_asyncapi, render_asyncapi

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_asyncapi()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} is not a local reference"
    node: Any = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {token!r} is looked up in a non-object"
        assert token in node, f"{ref} does not resolve: no {token!r}"
        node = node[token]
    return node


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.exists(), "docs/asyncapi.json is missing: run `make asyncapi`"
    assert COMMITTED.read_text(encoding="utf-8") == render_asyncapi(), (
        "docs/asyncapi.json differs from the catalogue: run `make asyncapi` to regenerate it "
        "and commit the result"
    )


def test_rendering_is_byte_stable() -> None:
    first = render_asyncapi()
    assert first == render_asyncapi()
    assert first.endswith("}\n")
    assert json.loads(first) == build_asyncapi()


def test_basic_asyncapi_3_shape(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "Headrace"
    assert doc["info"]["version"]
    assert "nats pub" in doc["info"]["description"]
    assert "binary mode" in doc["info"]["description"]
    assert doc["servers"]["nats"] == {
        "host": "localhost:4222",
        "protocol": "nats",
        "description": doc["servers"]["nats"]["description"],
    }
    for section in ("channels", "operations", "components"):
        assert isinstance(doc[section], dict)
        assert doc[section], f"{section} is empty"
    assert set(doc["components"]) >= {"messages", "schemas"}
    for channel_id, channel in doc["channels"].items():
        assert "address" in channel, channel_id
        assert channel["messages"], channel_id
    for operation_id, operation in doc["operations"].items():
        assert operation["action"] in {"send", "receive"}, operation_id
        assert set(operation["channel"]) == {"$ref"}, operation_id
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages are those of its own channel.
            assert message["$ref"].startswith(channel_ref + "/messages/"), operation_id


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs = _refs(doc)
    assert len(refs) > 100
    for ref in sorted(set(refs)):
        _resolve(doc, ref)


def test_every_catalogue_message_has_a_channel_message_and_operation(
    doc: dict[str, Any],
) -> None:
    for model in CATALOGUE:
        name = model.__name__
        channel = doc["channels"][model.subject()]
        assert channel["address"] == model.subject()
        assert channel["messages"][name] == {"$ref": f"#/components/messages/{name}"}

        message = doc["components"]["messages"][name]
        assert message["name"] == name
        assert message["title"]
        assert message["summary"]
        assert message["contentType"] == "application/json"
        assert message["x-headrace-kind"] == model.KIND
        assert message["payload"] == {"$ref": f"#/components/schemas/{name}"}
        headers = message["headers"]
        assert headers["type"] == "object"
        assert headers["properties"]["ce-type"]["const"] == model.ce_type()
        assert headers["properties"]["ce-specversion"]["const"] == "1.0"
        assert headers["properties"]["ce-time"]["format"] == "date-time"
        assert set(headers["required"]) == {"ce-specversion", "ce-id", "ce-source", "ce-type"}
        assert {"content-type", "Nats-Msg-Id", "traceparent"} <= set(headers["properties"])

        action = "send" if issubclass(model, Event | Telemetry) else "receive"
        operation = doc["operations"][f"{action}{name}"]
        assert operation["action"] == action
        assert operation["channel"] == {"$ref": f"#/channels/{model.subject()}"}


def test_events_are_sent_commands_received(doc: dict[str, Any]) -> None:
    assert doc["operations"]["sendStepSucceeded"]["action"] == "send"
    assert doc["operations"]["receiveSubmitRun"]["action"] == "receive"
    assert doc["channels"]["headrace.run.submit"]["x-headrace-stream"] == "HEADRACE"


def test_telemetry_is_sent_over_core_nats_outside_the_stream(doc: dict[str, Any]) -> None:
    subject = "headrace.telemetry.inferenceservice.traffic"
    channel = doc["channels"][subject]
    assert "x-headrace-stream" not in channel
    assert "never stored" in channel["description"]
    assert doc["operations"]["sendInferenceTrafficSummarized"]["action"] == "send"
    kind = doc["components"]["messages"]["InferenceTrafficSummarized"]["x-headrace-kind"]
    assert kind == "telemetry"
    assert not any(subject.startswith(f"headrace.{area}.") for area in CATALOGUE.areas())


def test_queries_are_request_reply(doc: dict[str, Any]) -> None:
    operation = doc["operations"]["receivePing"]
    assert operation["action"] == "receive"
    reply = operation["reply"]
    reply_channel = _resolve(doc, reply["channel"]["$ref"])
    assert reply_channel["address"] is None  # the requester's inbox
    pong = _resolve(doc, reply["messages"][0]["$ref"])
    assert pong == {"$ref": "#/components/messages/Pong"}
    assert doc["components"]["messages"]["Pong"]["x-headrace-kind"] == "reply"
    query_channel = doc["channels"]["headrace.query.system.ping"]
    assert "request/reply" in query_channel["description"].lower()
    assert "x-headrace-stream" not in query_channel


def test_shared_value_objects_appear_once(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert {"ArtifactRef", "Resources", "StepInputs", "StepOutputSpec"} <= set(schemas)
    text = json.dumps(schemas)
    assert "$defs" not in text
    ready = schemas["StepReady"]
    assert ready["properties"]["resources"] == {"$ref": "#/components/schemas/Resources"}
    assert "uri" in schemas["ArtifactRef"]["required"]


def test_dead_letter_channel(doc: dict[str, Any]) -> None:
    channel = doc["channels"]["headrace.dlq"]
    assert channel["address"] == "headrace.dlq.{consumer}"
    assert "consumer" in channel["parameters"]
    assert channel["x-headrace-stream"] == "HEADRACE_DLQ"
    message = doc["components"]["messages"]["DeadLetter"]
    headers = message["headers"]["properties"]
    assert headers["headrace-dlq-reason"]["enum"] == ["exhausted", "invalid", "rejected"]
    assert set(message["headers"]["required"]) == {
        "headrace-dlq-reason",
        "headrace-dlq-error",
        "headrace-dlq-consumer",
        "headrace-dlq-subject",
        "headrace-dlq-deliveries",
        "headrace-dlq-stream-seq",
    }
    assert doc["operations"]["sendDeadLetter"]["action"] == "send"


def test_two_versions_share_one_channel() -> None:
    class Answer(Reply):
        ok: bool = True

    class Asked(Event):
        AREA = "demo"
        NAME = "asked"

    class AskedV2(Event):
        AREA = "demo"
        NAME = "asked"
        VERSION = 2

        question: str

    class Ask(Query):
        AREA = "demo"
        NAME = "ask"
        REPLY = Answer

    doc = build_asyncapi(Catalogue([Asked, AskedV2, Ask]))
    channel = doc["channels"]["headrace.demo.asked"]
    assert sorted(channel["messages"]) == ["Asked", "AskedV2"]
    types = {
        doc["components"]["messages"][name]["headers"]["properties"]["ce-type"]["const"]
        for name in channel["messages"]
    }
    assert types == {"io.headrace.demo.asked.v1", "io.headrace.demo.asked.v2"}
    assert doc["operations"]["receiveAsk"]["reply"]["messages"] == [
        {"$ref": "#/channels/headrace.query.demo.ask.reply/messages/Answer"}
    ]
    for ref in _refs(doc):
        _resolve(doc, ref)
