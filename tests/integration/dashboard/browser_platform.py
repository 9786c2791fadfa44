"""The platform of the browser tests (imported by name)."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from headrace_runtime import Service
from headrace_testing.background import Background


class Platform(Background):
    """The services on a background loop; :attr:`metadata` serves the dashboard, to holders
    of the admin token :attr:`token` (a browser logs in at :attr:`login`)."""

    metadata: Service

    def __init__(self, nats_url: str, *, token: str) -> None:
        super().__init__(nats_url)
        self.token = token
        self.http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"})

    @property
    def login(self) -> str:
        return f"{self.base}/login?token={quote(self.token, safe='')}"

    def stop(self) -> None:
        self.http.close()
        super().stop()

    @property
    def base(self) -> str:
        """The dashboard's root URL (the HTTP API is under ``/api/v1``)."""
        return self.metadata.endpoints["http"].removesuffix("/api/v1")
