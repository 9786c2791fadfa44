"""Every command and query of the catalogue has exactly one consuming service.

Each service of the platform (``headrace up`` runs them: `headrace.scale.SERVICES`) is built
from settings as its entrypoint builds it, without starting it, and asked what it consumes
(`Service.consumes`: the commands and events it handles or listens to, the queries it
answers). A command nobody consumes would wait on the bus forever; one consumed by two
services would be done twice.

``Ping`` is the one exception, by design: the runtime makes every service answer it on its
own behalf (``headrace status`` gathers one ``Pong`` per replica), so it is consumed by all.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from headrace.scale import SERVICES
from headrace_contracts import (
    CATALOGUE,
    ApplyInferenceService,
    Command,
    DeleteInferenceService,
    Message,
    Ping,
    PromoteModel,
    Query,
    RegisterModel,
    ShiftTraffic,
    SubmitRun,
)
from headrace_runtime import Service, Settings

EVERY_SERVICE_ANSWERS = {Ping}
"""Answered by the runtime of every service, not declared by any one of them."""

SERVING_COMMANDS = {ApplyInferenceService, ShiftTraffic, DeleteInferenceService}
"""Consumed by the serving service (its control plane); named here so the test says which
service must consume them, not only that one must."""


def _built(tmp_path: Path) -> dict[str, Service]:
    settings = Settings(home=tmp_path, nats_url="nats://127.0.0.1:1")
    return {
        name: importlib.import_module(f"headrace_{name}.app").build(settings) for name in SERVICES
    }


@pytest.fixture(scope="module")
def consumers(tmp_path_factory: pytest.TempPathFactory) -> dict[type[Message], list[str]]:
    found: dict[type[Message], list[str]] = {}
    for name, service in _built(tmp_path_factory.mktemp("home")).items():
        for message in service.consumes():
            found.setdefault(message, []).append(name)
    return found


def test_the_platform_is_its_five_services(tmp_path: Path) -> None:
    built = _built(tmp_path)
    assert sorted(built) == sorted(SERVICES)
    assert all(service.name == name for name, service in built.items())


def test_every_command_and_query_has_exactly_one_consumer(
    consumers: dict[type[Message], list[str]],
) -> None:
    wanted = [
        m for m in CATALOGUE if issubclass(m, Command | Query) and m not in EVERY_SERVICE_ANSWERS
    ]
    assert len(wanted) > 30
    problems = {m.__name__: consumers.get(m, []) for m in wanted if len(consumers.get(m, [])) != 1}
    assert problems == {}, (
        "each command and query needs exactly one consuming service; "
        f"these have none or several: {problems}"
    )


def test_serving_consumes_the_inference_service_commands(
    consumers: dict[type[Message], list[str]],
) -> None:
    assert {m.__name__: consumers.get(m, []) for m in SERVING_COMMANDS} == {
        m.__name__: ["serving"] for m in SERVING_COMMANDS
    }


def test_ping_is_answered_by_the_runtime_of_every_service(
    consumers: dict[type[Message], list[str]], tmp_path: Path
) -> None:
    assert Ping not in consumers  # declared by none ...
    service = Service("any", Settings(home=tmp_path))
    assert service.consumes() == frozenset()
    # ... answered by each (see Service._pong), so it is the documented exception
    assert {m for m in CATALOGUE if m is Ping} == EVERY_SERVICE_ANSWERS


def test_the_read_model_observes_the_commands_it_only_records(tmp_path: Path) -> None:
    metadata = _built(tmp_path)["metadata"]
    assert SubmitRun in metadata.observes()  # recorded in the run read model and lineage
    assert SubmitRun not in metadata.consumes()  # the scheduler carries it out
    assert {PromoteModel, RegisterModel} <= metadata.consumes()  # the registry's own
