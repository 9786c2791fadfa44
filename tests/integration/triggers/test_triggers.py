"""Event triggers end to end: an event published with plain nats-py starts a run of the
trigger's pipeline with parameters taken from the event, exactly once per event."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import create_engine, text
from trigger_platform import ORDER_PIPELINE, ORDER_TYPE, publish, start_trainer

from headrace import Client
from headrace.trigger_errors import InvalidTrigger, TriggerNotFound, TriggerRejectedError
from headrace_contracts import (
    CreateTrigger,
    RunStarted,
    TriggerCreated,
    TriggerEventRejected,
    TriggerFired,
    TriggerRejected,
)
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing.background import Background

DOCS = Path(__file__).parents[3] / "docs" / "triggers.md"


def eventually(background: Background, check: Any, timeout: float = 30.0) -> Any:
    """``check()`` once it is truthy: polled from the test's thread, as the services run on
    the background loop (and the Client on its own)."""
    del background
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout}s: {check()!r}")
        time.sleep(0.02)


def docs_publisher() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    found = [b for b in blocks if "nc.jetstream().publish" in b]
    assert len(found) == 1, "docs/triggers.md shows one nats-py publisher"
    return found[0]


def test_docs_publisher_starts_a_run_with_parameters_from_the_event(
    platform: Background, settings: Settings, client: Client
) -> None:
    start_trainer(platform, settings)
    platform.start(build_metadata(settings))  # the run read model: `run list --label`
    client.create_trigger(
        "on-order",
        ORDER_PIPELINE,
        on=ORDER_TYPE,
        filter="data.total > 100",
        parameters={
            "order": "{{ data.order_id }}",
            "quantity": "{{ data.quantity }}",
            "note": "from {{ attributes.source }}",
        },
    )
    # The block of docs/triggers.md, as it is, in a process of its own.
    done = subprocess.run(
        [sys.executable, "-c", docs_publisher()],
        env={**os.environ, "NATS_URL": settings.nats_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "stored in HEADRACE_EXT" in done.stdout
    event_id = done.stdout.strip().rsplit("ce-id ", 1)[1]

    fired = eventually(platform, lambda: platform.of(TriggerFired, event_id=event_id))
    assert len(fired) == 1
    assert fired[0].arguments == {"order": "A-1001", "quantity": 3, "note": "from /shop"}
    run_id = fired[0].run_id
    eventually(platform, lambda: platform.of(RunStarted, run_id=run_id))
    run = client.wait(run_id, timeout=90)
    assert run.state == "SUCCEEDED", run.error
    assert run.arguments == {"order": "A-1001", "quantity": 3, "note": "from /shop"}
    assert run.output_parameters == {"Output": "A-1001 x3 from /shop"}
    view = client.get_trigger("on-order")
    assert (view.events_matched, view.runs_started, view.events_rejected) == (1, 1, 0)
    assert view.last_run_id == run_id
    listed = eventually(platform, lambda: client.list_runs(labels={"trigger": "on-order"}).runs)
    assert [r.run_id for r in listed] == [run_id]


def test_filter_true_and_false(platform: Background, client: Client) -> None:
    client.create_trigger(
        "big-orders",
        ORDER_PIPELINE,
        on=ORDER_TYPE,
        filter="data.total > 100 && attributes.source == '/shop'",
        parameters={"order": "{{ data.order_id }}", "quantity": 1},
    )
    small = publish(platform.url, {"order_id": "S-1", "total": 50})
    big = publish(platform.url, {"order_id": "B-1", "total": 500})
    fired = eventually(platform, lambda: platform.of(TriggerFired, event_id=big))
    assert fired[0].arguments == {"order": "B-1", "quantity": 1}
    view = eventually(
        platform, lambda: (v := client.get_trigger("big-orders")).events_filtered == 1 and v
    )
    assert (view.events_matched, view.runs_started, view.events_filtered) == (1, 1, 1)
    assert platform.of(TriggerFired, event_id=small) == []


def test_the_same_event_twice_across_a_restart_starts_one_run(
    platform: Background, settings: Settings, client: Client
) -> None:
    client.create_trigger(
        "once", ORDER_PIPELINE, on=ORDER_TYPE, parameters={"order": "{{ data.id }}", "quantity": 2}
    )
    event_id = publish(platform.url, {"id": "R-1"})
    first = eventually(platform, lambda: platform.of(TriggerFired, event_id=event_id))
    eventually(platform, lambda: platform.of(RunStarted, run_id=first[0].run_id))

    # The scheduler goes away; meanwhile the publisher retries with the same ce-id (a fresh
    # Nats-Msg-Id, so JetStream's duplicate window does not drop it) and sends another event.
    # Both wait in HEADRACE_EXT for the next scheduler.
    scheduler = platform.services.pop()
    platform.run(scheduler.stop())
    publish(platform.url, {"id": "R-1"}, event_id=event_id, msg_id=f"{event_id}-retry")
    sentinel = publish(platform.url, {"id": "R-2"})
    platform.start(build_scheduler(settings))
    eventually(platform, lambda: platform.of(TriggerFired, event_id=sentinel))

    assert len(platform.of(TriggerFired, event_id=event_id)) == 1
    assert len(platform.of(RunStarted, run_id=first[0].run_id)) == 1
    view = client.get_trigger("once")
    assert view.runs_started == 2  # R-1 once, R-2 once


def test_an_event_no_trigger_takes_is_counted_not_dead_lettered(
    platform: Background, client: Client
) -> None:
    client.create_trigger(
        "orders", ORDER_PIPELINE, on=ORDER_TYPE, parameters={"order": "x", "quantity": 1}
    )
    publish(platform.url, {"sku": "X"}, event_type="com.example.stock.changed")
    publish(platform.url, {"sku": "Y"}, event_type="com.example.stock.changed")
    found = eventually(platform, lambda: (f := client.list_triggers()).unmatched_events == 2 and f)
    assert [t.name for t in found.triggers] == ["orders"]
    assert found.triggers[0].events_matched == 0

    async def dead_letters() -> int:
        nc = await nats.connect(platform.url)
        try:
            info = await nc.jetstream().stream_info("HEADRACE_DLQ")
            return int(info.state.messages)
        finally:
            await nc.close()

    assert platform.run(dead_letters()) == 0


def test_an_event_lacking_a_field_is_recorded_on_the_trigger(
    platform: Background, client: Client
) -> None:
    client.create_trigger(
        "strict",
        ORDER_PIPELINE,
        on=ORDER_TYPE,
        parameters={"order": "{{ data.order_id }}", "quantity": "{{ data.quantity }}"},
    )
    lacking = publish(platform.url, {"quantity": 3})
    wrong = publish(platform.url, {"order_id": "W-1", "quantity": "three"})
    rejected = eventually(
        platform, lambda: len(platform.of(TriggerEventRejected, name="strict")) == 2
    )
    assert rejected
    by_event = {e.event_id: e.reason for e in platform.of(TriggerEventRejected)}
    assert by_event[lacking] == (
        "parameter 'order': {{ data.order_id }}: Key not found in map : \"order_id\""
    )
    assert by_event[wrong] == (
        "task 'root', parameter 'quantity': expects NUMBER_INTEGER (int) but got str \"three\""
    )
    view = client.get_trigger("strict")
    assert (view.events_matched, view.runs_started, view.events_rejected) == (2, 0, 2)
    assert view.last_error_event_id in (lacking, wrong)
    assert view.last_error.startswith(f"event {view.last_error_event_id!r} from '/shop': ")
    assert platform.of(TriggerFired) == []


def test_a_filter_that_is_not_cel_is_refused_by_client_and_service(
    platform: Background, client: Client, order_spec: dict[str, Any]
) -> None:
    with pytest.raises(InvalidTrigger) as local:
        client.create_trigger("bad", ORDER_PIPELINE, on=ORDER_TYPE, filter="data.total >")
    assert "'data.total >' is not valid CEL: at column 13: Syntax error" in str(local.value)

    # The same definition sent past the client: the scheduler refuses it too.
    request = uuid.uuid4().hex
    platform.publish(
        CreateTrigger(
            name="bad",
            event_type=ORDER_TYPE,
            filter="data.total >",
            parameters={"order": "x", "quantity": 1},
            pipeline_spec=order_spec,
            request_id=request,
        )
    )
    refused = eventually(platform, lambda: platform.of(TriggerRejected, request_id=request))
    assert "--filter: 'data.total >' is not valid CEL: at column 13" in refused[0].reason
    assert platform.of(TriggerCreated) == []
    with pytest.raises(TriggerNotFound):
        client.get_trigger("bad")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"subject": "orders.>"}, "subject 'orders.>' is not a NATS subject under headrace.ext."),
        ({"parameters": {"order": "x"}}, "needs parameter 'quantity', which has no default"),
        ({"parameters": {"order": "x", "quantity": 1, "qty": 2}}, "has no parameter 'qty'"),
        ({"parameters": {"order": "x", "quantity": "{{ data.n "}}, "unclosed '{{'"),
        (
            {"parameters": {"order": 5, "quantity": 1}},
            "parameter 'order': expects STRING (str) but got int 5",
        ),
    ],
)
def test_bad_definitions_are_refused_before_sending(
    client: Client, change: dict[str, Any], message: str
) -> None:
    given: dict[str, Any] = {"parameters": {"order": "x", "quantity": 1}, **change}
    with pytest.raises(InvalidTrigger) as refused:
        client.create_trigger("bad", ORDER_PIPELINE, on=ORDER_TYPE, **given)
    assert message in str(refused.value)


def test_a_name_taken_is_refused_and_delete_frees_it(platform: Background, client: Client) -> None:
    params = {"order": "x", "quantity": 1}
    client.create_trigger("dup", ORDER_PIPELINE, on=ORDER_TYPE, parameters=params)
    with pytest.raises(TriggerRejectedError) as taken:
        client.create_trigger("dup", ORDER_PIPELINE, on=ORDER_TYPE, parameters=params)
    assert "already exists in namespace 'default'" in str(taken.value)
    client.delete_trigger("dup")
    with pytest.raises(TriggerNotFound):
        client.delete_trigger("dup")
    assert client.create_trigger("dup", ORDER_PIPELINE, on="other", parameters=params)


def test_a_message_that_is_not_a_cloudevent_is_dead_lettered_with_the_reason(
    platform: Background,
) -> None:
    publish(platform.url, None, raw=b"{not json", event_id="broken-1")

    async def dead_letter() -> Any:
        nc = await nats.connect(platform.url)
        try:
            sub = await nc.jetstream().pull_subscribe(
                "headrace.dlq.scheduler-ext", stream="HEADRACE_DLQ"
            )
            (msg,) = await sub.fetch(1, timeout=15)
            return msg.headers
        finally:
            await nc.close()

    headers = platform.run(dead_letter())
    assert headers["headrace-dlq-reason"] == "invalid"
    assert headers["headrace-dlq-subject"] == f"headrace.ext.{ORDER_TYPE}"
    assert "the data of CloudEvent 'broken-1'" in headers["headrace-dlq-error"]
    assert "is not JSON" in headers["headrace-dlq-error"]


def test_a_repeat_after_its_record_is_pruned_starts_no_second_run(
    platform: Background, settings: Settings, client: Client
) -> None:
    """The handled-event record goes after the de-duplication window; the run id, derived
    from the trigger and the event, still makes a late repeat start nothing."""
    client.create_trigger(
        "late", ORDER_PIPELINE, on=ORDER_TYPE, parameters={"order": "{{ data.id }}", "quantity": 1}
    )
    event_id = publish(platform.url, {"id": "L-1"})
    fired = eventually(platform, lambda: platform.of(TriggerFired, event_id=event_id))
    eventually(platform, lambda: platform.of(RunStarted, run_id=fired[0].run_id))
    engine = create_engine(settings.database_url_for("scheduler"))
    with engine.begin() as connection:
        connection.execute(
            text("DELETE FROM headrace_processed_messages WHERE consumer = 'scheduler-ext'")
        )
    engine.dispose()
    publish(platform.url, {"id": "L-1"}, event_id=event_id, msg_id=f"{event_id}-late")
    sentinel = publish(platform.url, {"id": "L-2"})
    eventually(platform, lambda: platform.of(TriggerFired, event_id=sentinel))
    assert len(platform.of(TriggerFired, event_id=event_id)) == 1
    assert len(platform.of(RunStarted, run_id=fired[0].run_id)) == 1
    assert client.get_trigger("late").runs_started == 2
