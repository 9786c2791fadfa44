"""One platform per HTTP API test module: scheduler, trainer and the metadata service (its
HTTP API on a free port) on a real nats-server, with a few real runs already finished and
recorded by the read model; and a small client of the API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from api_pipelines import doubling, training
from registry_platform import Platform

from headrace import Client
from headrace_contracts.access import new_token_secret, token_digest
from headrace_metadata.api import AccessSettings, HttpSettings
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Service
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import database_url_for, nats_for_test, service_settings, wait_for
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings


@dataclass
class Api:
    """The platform, its metadata service, and the runs it holds."""

    platform: Platform
    metadata: Service
    http: httpx.Client
    training_run: str = ""
    doubling_runs: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.metadata.endpoints["http"]

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{self.base}{path}", params=params)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def refused(self, path: str, status: int = 400, **params: Any) -> str:
        """The ``error`` of a refused request (and that it is all the body holds)."""
        response = self.get(path, **params)
        assert response.status_code == status, response.text
        body = response.json()
        assert list(body) == ["error"], body
        assert "Traceback" not in body["error"]
        return str(body["error"])


def api_platform(kind: str, root: Path) -> Iterator[Api]:
    """Start it on ``kind`` (sqlite or postgres), run the pipelines, yield once recorded."""
    url = database_url_for(kind, root)
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url, database_url=url)
        platform = Platform(settings)
        try:
            platform.start(build_scheduler(settings))
            platform.start(build_trainer(settings, trainer=TrainerSettings(concurrency=4)))
            admin = new_token_secret()  # as `headrace up` makes one
            access = AccessSettings(admin_token_sha256=token_digest(admin))
            metadata = platform.start(
                build_metadata(settings, http=HttpSettings(port=0), access=access)
            )
            auth = {"Authorization": f"Bearer {admin}"}
            with (
                httpx.Client(timeout=10, headers=auth) as http,
                Client(nats_url=nats.url, timeout=10) as client,
            ):
                api = Api(platform, metadata, http)
                _run(api, client)
                yield api
        finally:
            platform.stop()


def _run(api: Api, client: Client) -> None:
    api.training_run = client.submit(training, experiment="vision", labels={"team": "a"})
    api.doubling_runs = [
        client.submit(doubling, {"x": x}, labels={"team": "b", "x": str(x)}) for x in (1, 2, 3)
    ]
    for run_id in [api.training_run, *api.doubling_runs]:
        assert client.wait(run_id, timeout=120).state == "SUCCEEDED"

    def recorded() -> bool:
        found = api.get("/runs", state="SUCCEEDED").json()
        versions = api.get("/models/api-model/versions").json()
        return found.get("total") == 4 and bool(versions.get("versions"))

    asyncio.run(wait_for(recorded, 30, "the four runs and the model in the read model"))
