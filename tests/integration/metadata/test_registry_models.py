"""The model registry through the client, answered by the real metadata service on a real
nats-server, on SQLite and (with HEADRACE_TEST_DATABASE_URL) PostgreSQL: registration and
version numbers, aliases moved by promotion, every refusal, archiving and resolution."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from registry_platform import Platform

from headrace import Client
from headrace.model_errors import (
    InvalidModelRequest,
    ModelNotFound,
    ModelRegistryError,
    PromotionRejectedError,
)
from headrace_contracts import (
    ModelPromoted,
    ModelVersionRegistered,
    PromoteModel,
    PromotionRejected,
)
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Settings
from headrace_testing import (
    ServiceProcess,
    database_url_for,
    nats_for_test,
    service_settings,
    wait_for,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp(f"registry-{request.param}")
    url = database_url_for(str(request.param), root)
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url, database_url=url)
        platform = Platform(settings)
        try:
            for replica in range(2):  # two replicas share the work, so promotions can race
                values = {**settings.model_dump(), "instance_id": f"metadata-{replica}"}
                platform.start(build_metadata(Settings(**values)))
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def client(platform: Platform) -> Iterator[Client]:
    with Client(nats_url=platform.url, timeout=10.0) as made:
        yield made


def test_versions_are_numbered_per_model_and_a_same_artifact_is_the_same_version(
    client: Client, platform: Platform
) -> None:
    first = client.register_model(
        "iris",
        "file:///models/iris/1",
        digest="sha256:01",
        metrics={"accuracy": 0.91},
        properties={"layers": 3},
        labels={"team": "vision"},
        description="first try",
        tags=["baseline"],
        framework="sklearn",
    )
    second = client.register_model("iris", "file:///models/iris/2", digest="sha256:02")
    other = client.register_model("digits", "file:///models/digits/1")
    again = client.register_model("iris", "file:///models/iris/1", digest="sha256:01")
    assert (first.version, second.version, other.version, again.version) == (1, 2, 1, 1)
    assert first.uri == "file:///models/iris/1"
    assert first.metrics == {"accuracy": 0.91}
    assert first.metadata == {"layers": 3}
    assert first.labels == {"team": "vision"}
    assert (first.description, first.tags, first.framework, first.state) == (
        "first try",
        ["baseline"],
        "sklearn",
        "LIVE",
    )
    # The client returns on its own copy of each answer; the recorder's may come a moment later.
    asyncio.run(_until(lambda: len(platform.of(ModelVersionRegistered, version=1)) == 3))
    registered = platform.of(ModelVersionRegistered, model_name="iris", version=1)
    assert [e.already_registered for e in registered] == [False, True]
    versions = client.list_model_versions("iris")
    assert [v.version for v in versions] == [2, 1]
    model = client.get_model("iris")
    assert (model.latest_version, model.version_count, model.aliases) == (2, 2, {})
    assert "iris" in [m.name for m in client.list_models()]


def test_promotion_moves_the_alias_and_names_the_previous_version(client: Client) -> None:
    for n in (1, 2, 3):
        client.register_model(
            "wine", f"file:///models/wine/{n}", metrics={"accuracy": 0.9 + n / 100}
        )
    first = client.promote_model("wine", 1, "production")
    assert (first.version, first.previous_version, first.revision) == (1, None, 1)
    assert first.uri == "file:///models/wine/1"
    moved = client.promote_model("wine", 3, "production", require="metrics.accuracy >= 0.925")
    assert (moved.version, moved.previous_version, moved.revision) == (3, 1, 2)
    assert moved.uri == "file:///models/wine/3"
    client.promote_model("wine", 2, "staging")
    assert client.resolve_model("models:/wine@production") == "file:///models/wine/3"
    assert client.resolve_model("models:/wine@staging") == "file:///models/wine/2"
    assert client.resolve_model("models:/wine/1") == "file:///models/wine/1"
    assert client.get_model("wine").aliases == {"production": 3, "staging": 2}
    assert client.get_model_version("models:/wine/3").aliases == ["production"]


def refused(client: Client, name: str, version: int, **options: str) -> PromotionRejectedError:
    with pytest.raises(PromotionRejectedError) as caught:
        client.promote_model(name, version, "production", **options)
    return caught.value


def test_refused_promotions_say_why_and_leave_the_alias_alone(
    client: Client, platform: Platform
) -> None:
    client.register_model("beer", "file:///models/beer/1", metrics={"accuracy": 0.8})
    client.register_model("beer", "file:///models/beer/2", metrics={"accuracy": 0.99})
    client.register_model("beer", "file:///models/beer/3", metrics={"accuracy": 0.97})
    client.promote_model("beer", 2, "production")

    unknown_model = refused(client, "stout", 1)
    assert unknown_model.reason == (
        "no model 'stout' is registered in namespace 'default': register a version first "
        "(list them with `headrace model list`)"
    )
    unknown_version = refused(client, "beer", 9)
    assert unknown_version.reason == (
        "model 'beer' has no version 9 (its versions: 1, 2, 3): see `headrace model versions beer`"
    )
    assert unknown_version.current_version == 2
    failing = refused(client, "beer", 1, require="metrics.accuracy >= 0.95")
    assert failing.reason == (
        "version 1 of 'beer' does not meet 'metrics.accuracy >= 0.95' (its metrics: accuracy=0.8)"
    )
    assert str(failing).endswith("(alias 'production' still points at 2)")
    missing = refused(client, "beer", 1, require="metrics.auc > 0.5")
    assert missing.reason.startswith(
        "condition 'metrics.auc > 0.5' could not be evaluated for version 1 of 'beer'"
    )
    client.archive_model_version("beer", 3)
    archived = refused(client, "beer", 3)
    assert archived.reason == "version 3 of model 'beer' is ARCHIVED: promote a LIVE version"
    assert [v.version for v in client.list_model_versions("beer", state="archived")] == [3]

    # the client refuses an invalid condition before sending; another publisher is answered
    with pytest.raises(InvalidModelRequest, match="at column 20") as caught:
        client.promote_model("beer", 1, "production", require="metrics.accuracy >=")
    assert caught.value.column == 20
    platform.publish(
        PromoteModel(model_name="beer", version=1, require="metrics.accuracy >=", request_id="raw")
    )
    asyncio.run(_until(lambda: bool(platform.of(PromotionRejected, request_id="raw"))))
    [raw] = platform.of(PromotionRejected, request_id="raw")
    assert raw.reason.startswith(
        "invalid condition: condition 'metrics.accuracy >=' is not valid CEL: at column 20:"
    )
    assert raw.current_version == 2

    assert client.resolve_model("models:/beer@production") == "file:///models/beer/2"
    asyncio.run(_until(lambda: bool(platform.of(ModelPromoted, model_name="beer"))))
    assert [e.version for e in platform.of(ModelPromoted, model_name="beer")] == [2]


def test_an_aliased_version_cannot_be_archived(client: Client) -> None:
    client.register_model("cider", "file:///models/cider/1")
    client.promote_model("cider", 1, "staging")
    with pytest.raises(ModelRegistryError) as caught:
        client.archive_model_version("cider", 1)
    assert str(caught.value) == (
        "archiving refused: version 1 of 'cider' is what alias staging points at: promote "
        "another version to it first"
    )
    assert client.list_model_versions("cider")[0].state == "LIVE"


def test_resolution_of_what_does_not_exist(client: Client) -> None:
    client.register_model("mead", "file:///models/mead/1")
    with pytest.raises(ModelNotFound, match="model 'mead' has no alias 'production'"):
        client.resolve_model("models:/mead@production")
    with pytest.raises(ModelNotFound, match="model 'mead' has no version 4"):
        client.resolve_model("models:/mead/4")
    with pytest.raises(ModelNotFound, match="no model 'nothing' is registered"):
        client.resolve_model("models:/nothing/1")
    with pytest.raises(InvalidModelRequest, match="names no version"):
        client.resolve_model("models:/mead")
    with pytest.raises(ModelNotFound, match="no model 'nothing' is registered"):
        client.get_model("nothing")


def test_namespaces_keep_models_apart(client: Client) -> None:
    client.register_model("shared", "file:///a/1", namespace="team-a")
    client.register_model("shared", "file:///b/1", namespace="team-b")
    client.register_model("shared", "file:///b/2", namespace="team-b")
    assert [m.name for m in client.list_models(namespace="team-a")] == ["shared"]
    assert client.get_model("shared", namespace="team-b").latest_version == 2
    assert client.resolve_model("models:/shared/1", namespace="team-a") == "file:///a/1"
    with pytest.raises(ModelNotFound):
        client.resolve_model("models:/shared/2", namespace="team-a")


def test_concurrent_promotions_lose_no_move(
    client: Client, platform: Platform, tmp_path: Path
) -> None:
    """Two more replicas in processes of their own, so promotions of one alias really race."""
    for n in (1, 2, 3):
        client.register_model("race", f"file:///models/race/{n}")
    replicas = [
        ServiceProcess(
            "headrace-metadata",
            platform.settings.model_copy(update={"instance_id": f"metadata-process-{i}"}),
            tmp_path / f"metadata-{i}.log",
        )
        for i in range(2)
    ]
    for replica in replicas:
        platform.run(replica.start())
    for replica in replicas:
        asyncio.run(_until(lambda r=replica: "started" in _text(r.log)))
    try:
        _race(client, platform)
    finally:
        for replica in replicas:
            platform.run(replica.stop())


def _race(client: Client, platform: Platform) -> None:
    commands = [
        PromoteModel(model_name="race", version=1 + i % 3, alias="live", request_id=f"race-{i}")
        for i in range(24)
    ]
    for command in commands:
        platform.publish(command)
    asyncio.run(_until(lambda: len(platform.of(ModelPromoted, model_name="race")) == 24))
    moves = sorted(platform.of(ModelPromoted, model_name="race"), key=lambda e: e.revision)
    assert [m.revision for m in moves] == list(range(1, 25))
    assert moves[0].previous_version is None
    for before, after in itertools.pairwise(moves):
        assert after.previous_version == before.version
    assert client.get_model("race").aliases == {"live": moves[-1].version}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    await wait_for(predicate, timeout)
