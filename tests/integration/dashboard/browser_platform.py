"""The platform of the browser tests (imported by name)."""

from __future__ import annotations

from headrace_runtime import Service
from headrace_testing.background import Background


class Platform(Background):
    """The services on a background loop; :attr:`metadata` serves the dashboard."""

    metadata: Service

    @property
    def base(self) -> str:
        """The dashboard's root URL (the HTTP API is under ``/api/v1``)."""
        return self.metadata.endpoints["http"].removesuffix("/api/v1")
