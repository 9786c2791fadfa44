"""The HTTP API's server in the service process: a port another replica holds makes a
replica serve on a free port, ``headrace status`` shows every replica's URL, stopping the
service closes the port, and an unexpected failure is a 500 with JSON, not a trace."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from registry_platform import Platform
from sqlalchemy import create_engine

from headrace_metadata.api import AccessSettings, HttpServer, HttpSettings, create_app
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Service
from headrace_testing import nats_for_test, service_settings

HEADRACE = str(Path(sys.executable).parent / "headrace")
OPEN = AccessSettings(auth="off")  # tokens: test_access*.py


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("api-server")
    with nats_for_test(root) as nats:
        platform = Platform(service_settings(root / "home", nats.url))
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def taken() -> Iterator[int]:
    """A port some other process listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def port_of(service: Service) -> int:
    return int(service.endpoints["http"].rsplit(":", 1)[1].split("/")[0])


def test_replicas_on_one_machine_each_serve_and_status_shows_their_urls(
    platform: Platform, taken: int
) -> None:
    def replica(name: str, port: int) -> Service:
        settings = platform.settings.model_copy(update={"instance_id": name})
        return platform.start(build_metadata(settings, http=HttpSettings(port=port), access=OPEN))

    first, second = replica("metadata-a", taken), replica("metadata-b", 0)
    urls = {first.endpoints["http"], second.endpoints["http"]}
    assert len(urls) == 2
    assert taken not in {port_of(first), port_of(second)}
    for url in urls:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/v1")
        assert httpx.get(f"{url}/runs").json() == {
            "runs": [],
            "total": 0,
            "next_page_token": "",
            "error": "",
        }

    shown = subprocess.run(
        [HEADRACE, "status", "--nats-url", platform.url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    metadata = json.loads(shown.stdout)["services"]["metadata"]
    assert {i["endpoints"]["http"] for i in metadata["instances"]} == urls
    table = subprocess.run(
        [HEADRACE, "status", "--nats-url", platform.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.splitlines()
    for service in (first, second):
        line = f"metadata http  {service.endpoints['http']} ({service.instance})"
        assert line in table, table


def test_stopping_the_service_closes_its_port(platform: Platform) -> None:
    service = build_metadata(platform.settings, http=HttpSettings(port=0), access=OPEN)
    platform.run(service.start())
    url = service.endpoints["http"]
    assert httpx.get(f"{url}/models").status_code == 200
    platform.run(service.stop())
    assert service.endpoints == {}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models")


def test_a_disabled_api_is_not_served(platform: Platform) -> None:
    service = platform.start(build_metadata(platform.settings, http=HttpSettings(enabled=False)))
    assert "http" not in service.endpoints
    assert list(service.endpoints) == ["metrics"]  # every service serves its metrics


async def test_an_unexpected_failure_is_a_500_with_json(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # the tables are missing
    server = HttpServer(create_app(engine, access_settings=OPEN), HttpSettings(port=0))
    url = await server.start()
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{url}/api/v1/runs")
    finally:
        await server.stop()
        engine.dispose()
    assert response.status_code == 500
    assert response.json() == {
        "error": "the metadata service failed to answer /api/v1/runs (OperationalError): "
        "see its log; retry later"
    }
