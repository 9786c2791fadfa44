"""Bad schedules are refused with the reason: by the client before sending, and by the
scheduler (``ScheduleRejected``) for any publisher that skipped the client's checks."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from schedule_platform import SchedulePlatform

from headrace import Client, ScheduleRejectedError
from headrace_contracts import CreateSchedule, PauseSchedule


def test_the_client_refuses_bad_timing_and_missing_parameters_before_sending(
    bare: SchedulePlatform, client: Client, ticked_spec: dict[str, Any]
) -> None:
    # no scheduler runs: each of these is refused by the client itself
    with pytest.raises(ScheduleRejectedError, match=r"cron expression '61 \* \* \* \*'"):
        client.create_schedule("bad", ticked_spec, {"n": 1}, cron="61 * * * *")
    with pytest.raises(ScheduleRejectedError, match="interval '5 minutes' is not a duration"):
        client.create_schedule("bad", ticked_spec, {"n": 1}, every="5 minutes")
    with pytest.raises(ScheduleRejectedError, match="exactly one of"):
        client.create_schedule("bad", ticked_spec, {"n": 1})
    with pytest.raises(ScheduleRejectedError, match=r"needs parameter 'n', which the sch"):
        client.create_schedule("bad", ticked_spec, {}, every="1s")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"cron": "* * * 13 *"}, r"cron expression '\* \* \* 13 \*' is not valid"),
        ({"every": "1y"}, "interval '1y' is not a duration"),
        ({"every": "1s", "arguments": {}}, r"needs parameter 'n'.*\(CLI: -p n=VALUE\)"),
        ({"every": "1s", "arguments": {"n": 1, "m": 2}}, "has no parameter 'm'"),
        ({"every": "1s", "arguments": {"n": "abc"}}, "parameter 'n': expects NUMBER_INTEGER"),
        ({"every": "1s", "max_concurrency": 0}, "max_concurrency 0 is out of range"),
        ({"every": "1s", "name": "Not_A_Label"}, "schedule name 'Not_A_Label' is not a DNS"),
        (
            {"every": "1s", "end_at": datetime.now(UTC) - timedelta(hours=1)},
            "has already passed",
        ),
    ],
)
def test_the_scheduler_rejects_a_bad_schedule_with_the_reason(
    bare: SchedulePlatform,
    client: Client,
    ticked_spec: dict[str, Any],
    fields: dict[str, Any],
    reason: str,
) -> None:
    bare.start_scheduler()
    request_id = uuid.uuid4().hex
    values: dict[str, Any] = {
        "name": "raw",
        "pipeline_spec": ticked_spec,
        "arguments": {"n": 1},
        "request_id": request_id,
        **fields,
    }
    bare.publish(CreateSchedule(**values))
    rejected = bare.wait_rejected(request_id)
    assert (rejected.command, rejected.name) == ("create", values["name"])

    assert re.search(reason, rejected.reason), rejected.reason
    assert client.list_schedules().schedules == []


def test_names_are_unique_and_unknown_schedules_are_named(
    bare: SchedulePlatform, client: Client, ticked_spec: dict[str, Any]
) -> None:
    bare.start_scheduler()
    client.create_schedule("once", ticked_spec, {"n": 1}, cron="0 2 * * *")
    with pytest.raises(ScheduleRejectedError, match="'once' already exists in namespace"):
        client.create_schedule("once", ticked_spec, {"n": 1}, cron="0 3 * * *")
    with pytest.raises(ScheduleRejectedError, match="pause refused: no schedule 'ghost'"):
        client.pause_schedule("ghost")
    request_id = uuid.uuid4().hex
    bare.publish(PauseSchedule(name="ghost", namespace="team-b", request_id=request_id))
    assert "namespace 'team-b'" in bare.wait_rejected(request_id).reason


def test_every_missing_parameter_is_named(
    bare: SchedulePlatform, client: Client, paired_spec: dict[str, Any]
) -> None:
    needs = "pipeline 'pair-pipeline' needs parameters 'a', 'b', which the schedule does not give"
    with pytest.raises(ScheduleRejectedError, match=needs):
        client.create_schedule("pair", paired_spec, {"c": 2}, every="1s")
    bare.start_scheduler()
    request_id = uuid.uuid4().hex
    bare.publish(
        CreateSchedule(name="pair", pipeline_spec=paired_spec, every="1s", request_id=request_id)
    )
    reason = bare.wait_rejected(request_id).reason
    assert needs in reason
    assert "(CLI: -p a=VALUE -p b=VALUE)" in reason
