"""Where the HTTP API listens: ``HEADRACE_METADATA_HTTP_*`` read once at service start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8765


class HttpSettings(BaseSettings):
    """``HEADRACE_METADATA_HTTP_HOST`` (default 127.0.0.1), ``HEADRACE_METADATA_HTTP_PORT``
    (default 8765; 0 picks a free port), ``HEADRACE_METADATA_HTTP_ENABLED`` (default on) and
    ``HEADRACE_METADATA_HTTP_ANSWER_TIMEOUT`` (default 15 s: how long ``POST
    /models/{name}/promote`` waits for the registry's decision).

    When the port is taken (another replica on the same machine has it) the replica binds a
    free port instead and says so in its log; every replica's URL is in its ``Pong`` and so
    in ``headrace status``.
    """

    model_config = SettingsConfigDict(env_prefix="HEADRACE_METADATA_HTTP_", extra="ignore")

    enabled: bool = True
    answer_timeout: float = Field(
        default=15.0,
        gt=0,
        description="how long a promotion waits for the registry's answer (seconds)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
