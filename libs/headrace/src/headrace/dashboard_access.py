"""The local user's way into the dashboard of a platform ``headrace up`` runs.

``headrace up`` keeps an admin token's secret in ``<home>/api-token`` (mode 0600, made on
first start and reused after) and gives the metadata service only its SHA-256
(``HEADRACE_API_ADMIN_TOKEN_SHA256``), which the service records as token
``local-admin-<user>`` before its HTTP API serves. :func:`dashboard_login_url` puts the
secret and the running API's address together: opening that URL sets the dashboard's
cookie.

No bus or pydantic here but in :func:`dashboard_login_url`, so ``headrace up`` stays light.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import logging
import os
import re
import secrets
from pathlib import Path
from urllib.parse import quote

from .home import Home, resolve_home
from .run_errors import ClientError

__all__ = [
    "DashboardUnavailable",
    "admin_token_env",
    "admin_token_file",
    "dashboard_login_url",
    "ensure_admin_token",
]

TOKEN_FILE = "api-token"
API_SUFFIX = "/api/v1"

log = logging.getLogger("headrace.supervisor")


class DashboardUnavailable(ClientError):
    """No login URL: no platform runs, it keeps no admin token, or serves no HTTP API."""


def admin_token_file(home: Home) -> Path:
    return home.root / TOKEN_FILE


def ensure_admin_token(home: Home) -> str:
    """The secret in ``<home>/api-token``, made (mode 0600) when there is none."""
    path = admin_token_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others: made it 0600", path)
        if secret:
            return secret
        path.unlink()
        return ensure_admin_token(home)
    secret = "hrt_" + secrets.token_urlsafe(32)  # as headrace_contracts.access makes them
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def admin_token_name() -> str:
    """``local-admin-<user>``: the token's name in the metadata service."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return "local-admin-" + (re.sub(r"[^A-Za-z0-9._@-]", "-", user)[:100] or "user")


def admin_token_env(home: Home) -> dict[str, str]:
    """What the metadata service is started with so it records the local admin token."""
    digest = hashlib.sha256(ensure_admin_token(home).encode()).hexdigest()
    return {
        "HEADRACE_API_ADMIN_TOKEN_SHA256": digest,
        "HEADRACE_API_ADMIN_TOKEN_NAME": admin_token_name(),
    }


def dashboard_login_url(home: str | os.PathLike[str] | None = None, *, timeout: float = 5.0) -> str:
    """``http://HOST:PORT/login?token=SECRET`` of the platform running in ``home`` (default:
    ``$HEADRACE_HOME`` or ``~/.headrace``): opening it logs the browser in as the local
    admin and shows the dashboard. :class:`DashboardUnavailable` says why there is none.
    Synchronous (it runs its own event loop to ask the platform where the API is)."""
    from .control import find_platform
    from .status import probe

    where = Home(resolve_home(home))
    found = find_platform(where)
    state = found.state if found.running else None
    if state is None:
        raise DashboardUnavailable(
            f"no platform is running in {where.root}: start one with `headrace up`"
        )
    path = admin_token_file(where)
    try:
        secret = path.read_text().strip()
    except OSError:
        secret = ""
    if not secret:
        raise DashboardUnavailable(
            f"no admin token in {path}: `headrace up` makes it; restart the platform "
            "(`headrace down`, then `headrace up`), or create one with "
            "`headrace token create NAME --role admin` and open /login?token=TOKEN"
        )
    status = asyncio.run(probe(state, state.nats_url, timeout=timeout))
    metadata = status.services.get("metadata")
    urls = [
        dict(instance.endpoints).get("http", "")
        for instance in (metadata.instances if metadata else ())
    ]
    api = next((url for url in urls if url), "")
    if not api:
        raise DashboardUnavailable(
            f"no metadata service of the platform in {where.root} serves the HTTP API yet: "
            "check `headrace status` (HEADRACE_METADATA_HTTP_ENABLED must not be false)"
        )
    return f"{api.removesuffix(API_SUFFIX)}/login?token={quote(secret, safe='')}"
