"""``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` resolved by the real metadata service
over a real nats-server, the way the client resolves them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelserver_support import model_server

from headrace import Client
from headrace_metadata.app import build as build_metadata
from headrace_testing import nats_for_test, service_settings


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("registry")
    with nats_for_test(root) as nats:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        service = build_metadata(service_settings(root / "home", nats.url))
        asyncio.run_coroutine_threadsafe(service.start(), loop).result(timeout=60)
        try:
            yield nats.url
        finally:
            asyncio.run_coroutine_threadsafe(service.stop(), loop).result(timeout=60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


def test_alias_and_version_resolve_to_the_registered_artifact(
    nats_url: str, sklearn_path: Path
) -> None:
    with Client(nats_url=nats_url, timeout=10.0) as client:
        client.register_model("lr", "file:///elsewhere/model.joblib")  # version 1: not this
        version = client.register_model("lr", sklearn_path.as_uri(), framework="sklearn")
        assert version.version == 2
        client.promote_model("lr", version.version, "production")
    for uri in ("models:/lr@production", f"models:/lr/{version.version}"):
        args = ("--model-name", "lr", "--storage-uri", uri, "--nats-url", nats_url)
        with model_server(*args) as server, httpx.Client(base_url=server.url) as http:
            assert http.get("/v2/models/lr/ready").status_code == 200, server.log
            # the version it reports is the registry's
            assert http.get("/v2/models/lr").json()["versions"] == [str(version.version)]


def test_an_alias_that_does_not_resolve_is_not_ready_with_the_reason(nats_url: str) -> None:
    args = ("--model-name", "m", "--storage-uri", "models:/absent@production")
    with (
        model_server(*args, "--nats-url", nats_url) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        answer = http.get("/v2/models/m/ready")
    assert answer.status_code == 503
    assert answer.json()["error"].startswith(
        "model 'm' is not ready: models:/absent@production does not resolve: "
    )
