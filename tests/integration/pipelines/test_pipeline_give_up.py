"""No run is left hanging: when the scheduler cannot handle a message about a run, the run
ends visibly, and the dead-letter stream says why.

The test plays the trainer (it publishes StepStarted / StepSucceeded itself), so the only
thing that can fail is the scheduler, and faults are injected into its real database: a
statement the driver refuses (:class:`headrace_testing.faults.StoreFault`) or a stored run
broken by hand.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from kfp import dsl
from nats.js.api import ConsumerConfig, DeliverPolicy
from pipeline_harness import Platform, step
from sqlalchemy import Engine, text

from headrace_bus import Bus
from headrace_contracts import CancelStep, RunFailed, RunRejected, StepStarted, StepSucceeded
from headrace_testing.faults import StoreFault, parameter_values

StartPlatform = Callable[..., Awaitable[Platform]]


@dsl.component
def add(a: int, b: int) -> int:
    return a + b


@dsl.pipeline
def one(n: int = 1) -> int:
    return add(a=n, b=1).output


@dsl.pipeline
def chain(n: int = 1) -> int:
    first = add(a=n, b=1)
    return add(a=first.output, b=1).output


@pytest.fixture
async def platform(start_platform: StartPlatform, database_url: str) -> Platform:
    """The scheduler (and metadata) without a trainer: the test plays the trainer."""
    return await start_platform(trainers=0, database_url=database_url)


def scheduler_engine(platform: Platform) -> Engine:
    engine = next(s for s in platform.services if s.name == "scheduler").engine
    assert engine is not None
    return engine


async def finish_step(platform: Platform, run_id: str, step_id: str, output: int) -> None:
    await platform.wait_step(run_id, step_id, "READY")
    await platform.bus.publish(StepStarted(run_id=run_id, step_id=step_id, attempt=1))
    await platform.bus.publish(
        StepSucceeded(
            run_id=run_id, step_id=step_id, attempt=1, output_parameters={"Output": output}
        )
    )


async def dead_letters(bus: Bus, timeout: float = 0.5) -> list[Any]:
    sub = await bus.connection.jetstream().pull_subscribe(
        "headrace.dlq.>",
        stream=bus.config.dlq_stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    found: list[Any] = []
    try:
        while True:
            try:
                batch = await sub.fetch(100, timeout=timeout)
            except Exception:
                return found
            found.extend(batch)
    finally:
        await sub.unsubscribe()


async def published(bus: Bus, subject: str) -> int:
    info = await bus.connection.jetstream().stream_info(bus.config.stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


def finishing_run(parameters: Any) -> bool:
    """The UPDATE that saves a run as SUCCEEDED."""
    return "SUCCEEDED" in parameter_values(parameters)


async def test_a_retryable_store_error_is_retried_and_the_run_goes_on(
    platform: Platform,
) -> None:
    fault = StoreFault(
        scheduler_engine(platform), statement="UPDATE runs", times=2, when=finishing_run
    )
    run_id = await platform.submit(one, {"n": 4})
    await finish_step(platform, run_id, "add", 5)
    run = await platform.wait(run_id)
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters == {"Output": 5}
    # two deliveries met a locked database (the first perhaps twice: in a batch, then
    # alone), the third went through
    assert 2 <= fault.hits <= 3
    assert await dead_letters(platform.bus) == []


async def test_a_retryable_error_that_lasts_fails_the_run_once_retries_are_used_up(
    platform: Platform,
) -> None:
    fault = StoreFault(scheduler_engine(platform), statement="UPDATE runs", when=finishing_run)
    run_id = await platform.submit(one, {"n": 4})
    await finish_step(platform, run_id, "add", 5)
    run = await platform.wait(run_id)

    assert run.state == "FAILED"
    assert run.error.startswith(
        "the scheduler could not handle StepSucceeded of step 'add': failed 5 deliveries; "
        "last error OperationalError: ("
    ), run.error
    assert "database is locked" in run.error
    failed = step(run, "add")
    assert failed is not None
    assert (failed.state, failed.reason) == ("FAILED", run.error)
    # Five deliveries; the first may also have been tried once in a batch with another
    # message before being handled alone.
    assert 5 <= fault.hits <= 6
    letters = await dead_letters(platform.bus)
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["exhausted"]
    assert letters[0].headers["headrace-dlq-subject"] == "headrace.step.succeeded"
    assert letters[0].headers["headrace-dlq-deliveries"] == "5"
    assert "database is locked" in letters[0].headers["headrace-dlq-error"]
    assert await published(platform.bus, RunFailed.subject()) == 1


async def test_a_non_retryable_error_fails_the_run_at_once(platform: Platform) -> None:
    run_id = await platform.submit(chain, {"n": 1})
    await platform.wait_step(run_id, "add", "READY")
    # Break the stored run by hand: its second step now names a task the pipeline lacks. A
    # new revision of the run's document tells the scheduler its cached state is stale.
    engine = scheduler_engine(platform)
    with engine.begin() as conn:
        node = json.loads(
            conn.execute(
                text("SELECT document FROM run_nodes WHERE run_id = :r AND node_id = 'add-2'"),
                {"r": run_id},
            ).scalar_one()
        )
        node["task"] = "add-9"
        conn.execute(
            text("UPDATE run_nodes SET document = :d WHERE run_id = :r AND node_id = 'add-2'"),
            {"d": json.dumps(node), "r": run_id},
        )
        document = json.loads(
            conn.execute(
                text("SELECT document FROM runs WHERE run_id = :r"), {"r": run_id}
            ).scalar_one()
        )
        document["revision"] = "edited by hand"
        conn.execute(
            text("UPDATE runs SET document = :d WHERE run_id = :r"),
            {"d": json.dumps(document), "r": run_id},
        )
    await finish_step(platform, run_id, "add", 2)
    run = await platform.wait(run_id)

    assert run.state == "FAILED"
    assert run.error == (
        "the scheduler could not handle StepSucceeded of step 'add': KeyError: 'add-9' "
        "(the scheduler's log has the details)"
    )
    states = {s.step_id: (s.state, s.reason) for s in run.steps}
    assert states["add"] == ("FAILED", run.error)
    assert states["add-2"] == ("CANCELLED", f"not run: {run.error}")
    letters = await dead_letters(platform.bus)
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["rejected"]
    assert letters[0].headers["headrace-dlq-deliveries"] == "1"  # never redelivered
    assert "KeyError: 'add-9'" in letters[0].headers["headrace-dlq-error"]
    assert await published(platform.bus, RunFailed.subject()) == 1


async def test_a_stored_run_that_no_longer_parses_still_fails_visibly(
    platform: Platform,
) -> None:
    run_id = await platform.submit(one, {"n": 1})
    await platform.wait_step(run_id, "add", "READY")
    with scheduler_engine(platform).begin() as conn:
        conn.execute(
            text("UPDATE runs SET document = :d WHERE run_id = :r"),
            {"d": '{"run_id": "truncated', "r": run_id},
        )
    await platform.bus.publish(StepStarted(run_id=run_id, step_id="add", attempt=1))
    run = await platform.wait(run_id)
    assert run.state == "FAILED"
    assert run.error.startswith(
        "the scheduler could not handle StepStarted of step 'add': ValidationError: "
    ), run.error
    assert "its stored state could not be read either (1 validation error" in run.error
    assert run.pipeline_name == "one"


async def test_an_error_while_starting_a_run_rejects_it(platform: Platform) -> None:
    StoreFault(
        scheduler_engine(platform),
        statement="INSERT INTO runs",
        error="DataError",
        message="value too long for type character varying(64)",
        times=1,
    )
    run_id = await platform.submit(one, {"n": 1})
    run = await platform.wait(run_id)
    assert run.state == "REJECTED"
    assert run.error.startswith("the scheduler could not start the run: DataError: ("), run.error
    assert run.error.endswith(
        "DataError) value too long for type character varying(64) "
        "(the scheduler's log has the details)"
    ), run.error
    letters = await dead_letters(platform.bus)
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["rejected"]
    assert letters[0].headers["headrace-dlq-subject"] == "headrace.run.submit"
    assert await published(platform.bus, RunRejected.subject()) == 1


async def test_a_cancel_the_scheduler_cannot_apply_fails_the_run_and_stops_its_steps(
    platform: Platform,
) -> None:
    StoreFault(
        scheduler_engine(platform),
        statement="UPDATE runs",
        when=lambda parameters: "CANCELLED" in parameter_values(parameters),
    )
    run_id = await platform.submit(one, {"n": 1})
    await platform.wait_step(run_id, "add", "READY")
    await platform.cancel(run_id)
    run = await platform.wait(run_id)
    assert run.state == "FAILED"
    assert run.error.startswith(
        "the scheduler could not handle CancelRun: failed 5 deliveries; last error "
        "OperationalError: ("
    ), run.error
    ready = step(run, "add")
    assert ready is not None
    assert (ready.state, ready.reason) == ("CANCELLED", f"stopped: {run.error}")
    assert await published(platform.bus, CancelStep.subject()) == 1
