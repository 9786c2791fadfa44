"""Platform queries every service answers (area ``system``); request/reply, never stored."""

from __future__ import annotations

from pydantic import Field

from .base import Query, Reply


class Pong(Reply):
    service: str
    instance: str
    pid: int
    host: str = ""
    version: str = ""
    started_at: str = ""
    healthy: bool = True
    consumer: str = ""
    detail: str = ""
    endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="what this replica serves besides the bus, e.g. http -> its API's base URL",
    )


class Ping(Query):
    """Answered by every replica of every service (or of ``service`` when given)."""

    AREA = "system"
    NAME = "ping"
    REPLY = Pong

    service: str = Field(default="", description="only replicas of this service answer")
