"""What one external event does to one trigger (pure logic), and the run id it derives."""

from __future__ import annotations

from typing import Any

from headrace_contracts.external import ExternalEvent
from headrace_pipelines import compile_plan
from headrace_pipelines.triggers import compile_trigger
from headrace_scheduler.triggers.firing import Filtered, Fire, Reject, outcome, run_id_for

SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "p"},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.14.3",
    "root": {
        "inputDefinitions": {
            "parameters": {
                "order": {"parameterType": "STRING"},
                "n": {"parameterType": "NUMBER_INTEGER", "defaultValue": 1},
            }
        },
        "dag": {"tasks": {}},
    },
    "components": {},
    "deploymentSpec": {"executors": {}},
}
PLAN = compile_plan(SPEC)


def event(data: Any, event_id: str = "e-1", source: str = "/shop") -> ExternalEvent:
    return ExternalEvent(id=event_id, source=source, type="t", data=data, nats_subject="x")


def trigger(filter_text: str = "", **parameters: Any) -> Any:
    return compile_trigger(
        name="t",
        namespace="default",
        event_type="t",
        subject="headrace.ext.>",
        filter_text=filter_text,
        parameters=parameters or {"order": "{{ data.id }}"},
        plan=PLAN,
    )


def test_fire_with_typed_arguments_given_only() -> None:
    found = outcome(
        trigger(order="{{ data.id }}", n="{{ data.n }}"), PLAN, event({"id": "A", "n": 4})
    )
    assert found == Fire({"order": "A", "n": 4})
    assert outcome(trigger(), PLAN, event({"id": "A"})) == Fire({"order": "A"})


def test_filtered() -> None:
    assert outcome(trigger("data.n > 5"), PLAN, event({"id": "A", "n": 4})) == Filtered()


def test_rejected_with_the_reason() -> None:
    assert outcome(trigger(), PLAN, event({"n": 1})) == Reject(
        "parameter 'order': {{ data.id }}: Key not found in map : \"id\""
    )
    assert outcome(
        trigger(order="{{ data.id }}", n="{{ data.n }}"), PLAN, event({"id": "A", "n": 1.5})
    ) == Reject("task 'root', parameter 'n': expects NUMBER_INTEGER (int) but got float 1.5")
    found = outcome(trigger("data.n > 1"), PLAN, event({"id": "A"}))
    assert isinstance(found, Reject)
    assert found.reason.startswith("filter 'data.n > 1' could not be evaluated: ")


def test_run_ids_are_one_per_trigger_and_event() -> None:
    one = run_id_for("t", "trigger-1", event({}, "e-1"))
    assert one == run_id_for("t", "trigger-1", event({"other": "data"}, "e-1"))
    assert one.startswith("t-")
    assert len(one) == 22
    others = {
        run_id_for("t", "trigger-1", event({}, "e-2")),
        run_id_for("t", "trigger-1", event({}, "e-1", source="/other")),
        run_id_for("t", "trigger-2", event({}, "e-1")),
    }
    assert one not in others
    assert len(others) == 3
