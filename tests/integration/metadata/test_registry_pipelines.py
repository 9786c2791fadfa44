"""A real kfp pipeline registers its model by setting ``headrace.register_model`` on its
Model output; the version carries the run, the step, the step's metrics and the artifact's
other metadata, and a gated promotion then points ``production`` at it. Scheduler, trainer
and metadata service run on a real nats-server, on SQLite and (with
HEADRACE_TEST_DATABASE_URL) PostgreSQL.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import asyncio
from collections.abc import Iterator

import pytest
from kfp import dsl
from kfp.dsl import Metrics, Model, Output
from registry_platform import Platform

from headrace import Client
from headrace_contracts import RegistrationRejected
from headrace_metadata.app import build as build_metadata
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import database_url_for, nats_for_test, service_settings, wait_for
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings

pytestmark = pytest.mark.postgres


@dsl.component
def train(model: Output[Model], rejected: Output[Model], metrics: Output[Metrics]) -> None:
    with open(model.path, "wb") as f:
        f.write(b"\x00weights")
    model.metadata["headrace.register_model"] = "iris-pipe"
    model.metadata["headrace.model_description"] = "trained by the nightly pipeline"
    model.metadata["headrace.model_tags"] = ["nightly"]
    model.metadata["headrace.model_framework"] = "sklearn"
    model.metadata["layers"] = 3
    with open(rejected.path, "wb") as f:
        f.write(b"\x00other")
    rejected.metadata["headrace.register_model"] = "not/a name"
    metrics.log_metric("accuracy", 0.96)
    metrics.log_metric("loss", 0.2)


@dsl.pipeline(name="nightly-training")
def nightly() -> None:
    train()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp(f"registry-pipelines-{request.param}")
    url = database_url_for(str(request.param), root)
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url, database_url=url)
        platform = Platform(settings)
        try:
            platform.start(build_scheduler(settings))
            platform.start(build_trainer(settings, trainer=TrainerSettings(concurrency=2)))
            platform.start(build_metadata(settings))
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def client(platform: Platform) -> Iterator[Client]:
    with Client(nats_url=platform.url, timeout=10.0) as made:
        yield made


def test_a_step_registers_its_model_and_a_gated_promotion_serves_it(
    client: Client, platform: Platform
) -> None:
    run = client.wait(client.submit(nightly), timeout=120)
    assert run.state == "SUCCEEDED", run.error
    [model] = next(s for s in run.steps if s.step_id == "train").output_artifacts["model"]

    def registered_with_metrics() -> bool:
        try:
            found = client.get_model_version("models:/iris-pipe/1")
        except LookupError:
            return False
        return set(found.metrics) == {"accuracy", "loss"}

    asyncio.run(wait_for(registered_with_metrics, 30, "version 1 of iris-pipe with metrics"))
    version = client.get_model_version("models:/iris-pipe/1")
    assert (version.uri, version.digest) == (model.uri, model.digest)
    assert (version.run_id, version.step_id) == (run.run_id, "train")
    assert version.metrics == {"accuracy": 0.96, "loss": 0.2}
    assert version.metadata == {"layers": 3}
    assert version.description == "trained by the nightly pipeline"
    assert (version.tags, version.framework) == (["nightly"], "sklearn")

    promoted = client.promote_model(
        "iris-pipe", 1, "production", require="metrics.accuracy >= 0.95 && properties.layers == 3"
    )
    assert (promoted.version, promoted.previous_version, promoted.uri) == (1, None, model.uri)
    assert client.resolve_model("models:/iris-pipe@production") == model.uri

    asyncio.run(wait_for(lambda: bool(platform.of(RegistrationRejected)), 30, "the rejection"))
    [rejected] = platform.of(RegistrationRejected)
    assert rejected.model_name == "not/a name"
    assert rejected.reason.startswith("model name 'not/a name' is not valid")
    assert [m.name for m in client.list_models()] == ["iris-pipe"]
