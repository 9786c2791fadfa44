"""A step the trainer can never run fails its run: the trainer's give-up hook answers the
StepReady it dead-letters with StepFailed, so the run does not wait forever."""

import json

import pytest
from kfp import dsl
from pipeline_harness import Platform, step
from test_pipeline_give_up import dead_letters

from headrace_runtime import Settings


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite, and on PostgreSQL when CI gives one."""
    return settings_on_each_database


@dsl.component
def hello() -> str:
    return "hello"


@dsl.pipeline(name="trainer-gives-up")
def one_step() -> None:
    hello()


async def test_a_step_the_trainer_gives_up_on_fails_its_run_and_is_dead_lettered(
    start_platform, settings: Settings
) -> None:
    # A broken work folder: where the trainer keeps its step records is a plain file, so
    # every delivery fails the same way (an OSError, retried) until retries run out.
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "work").write_text("not a folder")
    platform: Platform = await start_platform(max_deliver=3)

    run = await platform.wait(await platform.submit(one_step))

    assert run.state == "FAILED"
    hello_step = step(run, "hello")
    assert hello_step is not None
    assert hello_step.state == "FAILED"
    assert hello_step.reason.startswith(
        "step 'hello': the trainer could not run it: failed 3 deliveries; last error "
    )
    assert str(settings.home / "work") in hello_step.reason
    assert hello_step.reason in run.error

    letters = [m for m in await dead_letters(platform.bus) if m.subject == "headrace.dlq.trainer"]
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["exhausted"]
    assert letters[0].headers["headrace-dlq-subject"] == "headrace.step.ready"
    assert json.loads(letters[0].data)["step_id"] == "hello"
