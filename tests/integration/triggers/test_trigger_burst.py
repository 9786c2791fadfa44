"""A burst of 1,000 events with the same data and distinct ids: each starts exactly one run;
the same 1,000 again (the same ce-ids) start none. Runs the scheduler on SQLite and, with
HEADRACE_TEST_DATABASE_URL, on PostgreSQL (the counters are bumped in SQL by every replica)."""

from __future__ import annotations

import time
from pathlib import Path

import nats
import pytest
from trigger_platform import ORDER_PIPELINE, ORDER_TYPE, publish_many

from headrace import Client
from headrace_contracts import TriggerFired
from headrace_runtime import Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats, service_settings
from headrace_testing.background import Background

BURST = 1000


@pytest.mark.slow
def test_a_burst_of_identical_events_starts_one_run_each(
    tmp_path: Path, nats_server: TestNats, database_url: str
) -> None:
    settings: Settings = service_settings(
        tmp_path / "home", nats_server.url, database_url=database_url
    )
    background = Background(settings.nats_url, "headrace.trigger.fired")
    try:
        # Two scheduler replicas share the external consumer.
        background.start(build_scheduler(settings))
        background.start(build_scheduler(settings))
        with Client(nats_url=settings.nats_url, timeout=10.0) as client:
            client.create_trigger(
                "burst",
                ORDER_PIPELINE,
                on=ORDER_TYPE,
                parameters={"order": "{{ data.order_id }}", "quantity": "{{ data.quantity }}"},
            )
            same = {"order_id": "B-1", "quantity": 1, "total": 10.0}
            events = [(f"burst-{i:04d}", same) for i in range(BURST)]
            started = time.monotonic()
            publish_many(settings.nats_url, events)
            _wait(lambda: client.get_trigger("burst").runs_started >= BURST, 120)
            took = time.monotonic() - started
            # The same events again, past JetStream's duplicate window (fresh Nats-Msg-Id).
            publish_many(settings.nats_url, [(i, d) for i, d in events], msg_suffix="-again")
            publish_many(settings.nats_url, [("sentinel", same)])
            _wait(lambda: client.get_trigger("burst").runs_started == BURST + 1, 120)
            view = client.get_trigger("burst")
        assert (view.events_matched, view.runs_started, view.events_rejected) == (
            BURST + 1,
            BURST + 1,
            0,
        )
        _wait(lambda: len(background.of(TriggerFired)) >= BURST + 1, 30)
        fired = background.of(TriggerFired)
        assert len(fired) == BURST + 1
        assert len({f.run_id for f in fired}) == BURST + 1
        assert len({f.event_id for f in fired}) == BURST + 1
        assert background.run(_submits(settings.nats_url)) == BURST + 1
        print(f"{BURST} events -> {BURST} runs submitted in {took:.1f}s")
    finally:
        background.stop()


def _wait(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout}s")
        time.sleep(0.1)


async def _submits(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("HEADRACE", subjects_filter="headrace.run.submit")
        return sum((info.state.subjects or {}).values())
    finally:
        await nc.close()
