"""max_concurrency, pause, resume and delete, through the Client against the real
scheduler (and, for max_concurrency, the real trainer running the runs)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from schedule_platform import SchedulePlatform

from headrace import Client, ScheduleNotFound

SECOND = timedelta(seconds=1)


def let_ticks_pass(count: int) -> None:
    """Wait for the schedule's own ticks to go by (what the test checks did not fire)."""
    time.sleep(count)


def test_max_concurrency_holds_ticks_until_runs_end(
    bare: SchedulePlatform, client: Client, gated_spec: dict[str, Any], tmp_path: Path
) -> None:
    bare.start_scheduler()
    bare.start_trainer()
    gate = tmp_path / "gate"
    client.create_schedule(
        "two-at-once", gated_spec, {"gate": str(gate)}, every="1s", max_concurrency=2
    )
    first_two = bare.wait_fired(2, "two-at-once")
    let_ticks_pass(3)
    assert len(bare.fired_now()) == 2  # the third tick and later are held
    view = client.get_schedule("two-at-once")
    assert view.active_runs == [f.run_id for f in first_two]
    assert view.next_fire_at is not None
    assert view.next_fire_at < datetime.now(UTC)  # due, but held

    gate.write_text("open")
    ended = bare.wait_ended([f.run_id for f in first_two])
    assert set(ended.values()) == {"RunSucceeded"}
    later = bare.wait_fired(4, "two-at-once")
    # with catch-up (the default) the held ticks run in order, once each
    seen = [f.tick for f in later]
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)
    assert all(b - a == SECOND for a, b in itertools.pairwise(seen))


def test_pause_resume_and_delete(
    bare: SchedulePlatform, client: Client, ticked_spec: dict[str, Any]
) -> None:
    bare.start_scheduler()
    client.create_schedule("toggled", ticked_spec, {"n": 1}, every="1s", max_concurrency=100)
    bare.wait_fired(1, "toggled")

    paused = client.pause_schedule("toggled")
    assert (paused.state, paused.next_fire_at) == ("PAUSED", None)
    paused_at = datetime.now(UTC)
    bare.wait_for(lambda: len(bare.fired_now()) >= paused.fired_count, "committed ticks out")
    let_ticks_pass(2)
    assert len(bare.fired_now()) == paused.fired_count  # nothing fires while paused

    resumed = client.resume_schedule("toggled")
    assert resumed.state == "ENABLED"
    assert resumed.next_fire_at is not None
    assert resumed.next_fire_at > paused_at + SECOND
    after = bare.wait_fired(paused.fired_count + 1, "toggled")[-1]
    assert after.tick == resumed.next_fire_at  # ticks while paused were skipped

    client.delete_schedule("toggled")
    with pytest.raises(ScheduleNotFound, match="no schedule 'toggled'"):
        client.get_schedule("toggled")
    assert client.list_schedules().schedules == []
    count = len(bare.fired_now())
    let_ticks_pass(2)
    assert len(bare.fired_now()) <= count + 1  # at most a tick committed before the delete


def test_list_shows_the_schedules_of_a_namespace(
    bare: SchedulePlatform, client: Client, ticked_spec: dict[str, Any]
) -> None:
    bare.start_scheduler()
    client.create_schedule("nightly", ticked_spec, {"n": 1}, cron="0 2 * * *")
    client.create_schedule(
        "hourly", ticked_spec, {"n": 2}, cron="0 0 * * * *", namespace="team-a"
    )  # KFP's 6 fields, seconds first
    listed = client.list_schedules()
    assert [(s.name, s.cron) for s in listed.schedules] == [("nightly", "0 2 * * *")]
    team = client.list_schedules(namespace="team-a").schedules
    assert [(s.name, s.namespace, s.arguments) for s in team] == [("hourly", "team-a", {"n": 2})]
    nxt = team[0].next_fire_at
    assert nxt is not None
    assert (nxt.minute, nxt.second) == (0, 0)
    assert client.get_schedule("nightly").next_fire_at.hour == 2  # type: ignore[union-attr]


def test_start_and_end_bound_the_ticks(
    bare: SchedulePlatform, client: Client, ticked_spec: dict[str, Any]
) -> None:
    bare.start_scheduler()
    start = datetime.now(UTC).replace(microsecond=0) + 2 * SECOND
    end = start + 2.5 * SECOND
    view = client.create_schedule(
        "bounded", ticked_spec, {"n": 1}, every="1s", max_concurrency=10, start_at=start, end_at=end
    )
    assert view.next_fire_at == start  # the first tick is the start itself
    fired = bare.wait_fired(3, "bounded")
    assert [f.tick for f in fired] == [start, start + SECOND, start + 2 * SECOND]
    let_ticks_pass(2)  # past the end: nothing more
    assert len(bare.fired_now()) == 3
    after = client.get_schedule("bounded")
    assert (after.state, after.next_fire_at, after.fired_count) == ("ENABLED", None, 3)
