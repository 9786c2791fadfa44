"""Which role a request needs, by its method and path: pure, so routes added later are
covered without naming them.

* reading (GET, HEAD, OPTIONS) under ``/api/``: ``viewer``;
* writing (any other method), anywhere: ``editor``;
* token management and the audit trail (``/api/v1/tokens``, ``/api/v1/audit``): ``admin``;
* the dashboard's static files (reads outside ``/api/``), ``/login`` and the OpenAPI
  document and docs page: nobody (they hold no platform data).
"""

from __future__ import annotations

from headrace_contracts.access import ROLES

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API = "/api/"
ADMIN_PATHS = ("/api/v1/tokens", "/api/v1/audit")
PUBLIC_PATHS = frozenset({"/login", "/api/v1/docs", "/api/v1/openapi.json"})


def is_write(method: str) -> bool:
    return method.upper() not in READ_METHODS


def required_role(method: str, path: str) -> str | None:
    """The least role allowed ``method`` on ``path``; ``None``: anyone."""
    if any(path == p or path.startswith(p + "/") for p in ADMIN_PATHS):
        return "admin"
    if is_write(method):
        return "editor"
    if path in PUBLIC_PATHS or not path.startswith(API):
        return None
    return "viewer"


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (admin > editor > viewer)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def highest(roles: list[str]) -> str:
    """The most powerful of ``roles`` (``""`` when none)."""
    known = [r for r in roles if r in ROLES]
    return max(known, key=ROLES.index) if known else ""
