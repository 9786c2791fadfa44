"""Other systems' CloudEvents: read whatever their type, refused with the reason when not a
CloudEvent; and their channel in the AsyncAPI document."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headrace_contracts import InvalidCloudEvent
from headrace_contracts.asyncapi import build_asyncapi
from headrace_contracts.external import decode_external

HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "e-1",
    "ce-source": "/shop",
    "ce-type": "com.shop.order",
}


def test_any_type_with_extensions_and_json_data() -> None:
    event = decode_external(
        {**HEADERS, "ce-time": "2026-01-31T12:00:00Z", "ce-subject": "o-1", "ce-tenant": "acme"},
        b'{"n": 3}',
        subject="headrace.ext.com.shop.order",
    )
    assert (event.type, event.data, event.extensions) == (
        "com.shop.order",
        {"n": 3},
        {"tenant": "acme"},
    )
    assert event.time == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert event.attributes()["time"] == "2026-01-31T12:00:00Z"
    assert event.attributes()["subject"] == "o-1"
    assert decode_external(HEADERS, b"").data is None


@pytest.mark.parametrize(
    ("headers", "data", "message"),
    [
        ({"ce-id": "x"}, b"{}", "missing header(s) ce-specversion, ce-source, ce-type"),
        ({**HEADERS, "ce-specversion": "0.3"}, b"{}", "ce-specversion '0.3' is not supported"),
        ({**HEADERS, "content-type": "text/plain"}, b"{}", "content-type 'text/plain'"),
        (HEADERS, b"not json", "is not JSON"),
        ({**HEADERS, "ce-time": "yesterday"}, b"{}", "is not an RFC 3339 timestamp"),
    ],
)
def test_not_a_cloudevent(headers: dict[str, str], data: bytes, message: str) -> None:
    with pytest.raises(InvalidCloudEvent) as bad:
        decode_external(headers, data, subject="headrace.ext.x")
    assert message in str(bad.value)


def test_the_external_channel_is_in_the_asyncapi_document() -> None:
    document = build_asyncapi()
    channel = document["channels"]["headrace.ext"]
    assert channel["address"] == "headrace.ext.{type}"
    assert channel["x-headrace-stream"] == "HEADRACE_EXT"
    message = document["components"]["messages"]["ExternalEvent"]
    assert "const" not in message["headers"]["properties"]["ce-type"]
    assert document["operations"]["receiveExternalEvent"]["action"] == "receive"
    for name in ("CreateTrigger", "DeleteTrigger", "TriggerFired", "TriggerEventRejected"):
        assert name in document["components"]["messages"]
