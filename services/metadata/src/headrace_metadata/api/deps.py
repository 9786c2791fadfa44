"""What the dashboard's routes need besides the database: the service's bus (to publish
commands and ask the other services), the live event hub, and where artifacts are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from headrace_bus import Bus

from .errors import ApiError
from .live import LiveHub


@dataclass
class ApiDeps:
    """``bus`` and ``live`` are None for an API over a bare database (then the routes that
    need them answer 503). ``s3`` holds the S3 settings of the artifact store (empty: the
    environment's) for reading logs and previews."""

    engine: Engine
    bus: Bus | None = None
    live: LiveHub | None = None
    s3: dict[str, Any] = field(default_factory=dict)
    ask_timeout: float = 5.0
    answer_timeout: float = 15.0

    def need_bus(self) -> Bus:
        if self.bus is None:
            raise ApiError(
                503,
                "this HTTP API runs without a connection to NATS: serve it from the metadata "
                "service (`headrace up` or `headrace-metadata`)",
            )
        return self.bus

    def need_live(self) -> LiveHub:
        if self.live is None:
            raise ApiError(
                503,
                "this HTTP API runs without live events: serve it from the metadata service "
                "(`headrace up` or `headrace-metadata`)",
            )
        return self.live
