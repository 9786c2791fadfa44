"""examples/tuning/tune_pipeline.py: a pipeline step runs a Katib experiment through
`headrace.tuning.run_experiment` and waits for it; the best trial's parameters and model feed
the next step (real nats-server, scheduler, trainer, tuner and metadata; trials are real
processes)."""

import importlib.util
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest
from pipeline_harness import Platform, step

from headrace_runtime import Service, Settings
from headrace_testing import TestNats
from headrace_tuner.app import build as build_tuner

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tuning" / "tune_pipeline.py"


def example() -> ModuleType:
    found = importlib.util.spec_from_file_location("tune_pipeline", EXAMPLE)
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


@pytest.fixture
async def platform(
    start_platform: Callable[..., Awaitable[Platform]],
    settings: Settings,
    nats_server: TestNats,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Platform]:
    # Steps run with the trainer's environment, where `headrace up` puts the bus's URL.
    monkeypatch.setenv("HEADRACE_NATS_URL", nats_server.url)
    found = await start_platform()
    tuner: Service = build_tuner(settings)
    await tuner.start()
    try:
        yield found
    finally:
        await tuner.stop()


async def test_the_example_tunes_and_trains_with_the_best(platform: Platform) -> None:
    run = await platform.run(example().tune_then_train)
    assert run.state == "SUCCEEDED", run
    tuned, trained = step(run, "tune"), step(run, "train")
    assert tuned is not None
    assert trained is not None
    assert json.loads(tuned.output_parameters["Output"]) == {"x": "2"}
    assert trained.output_parameters["Output"] == "2 | model trained with x=2"
