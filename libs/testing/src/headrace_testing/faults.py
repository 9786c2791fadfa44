"""Faults injected into a service's real database, as a locked or broken database shows them.

:class:`StoreFault` makes chosen SQL statements fail inside the database driver: it raises
the driver's own PEP 249 exception (``sqlite3.OperationalError``, ``psycopg.DataError``, ...)
just before the statement would run, so SQLAlchemy translates it and the service sees
exactly what a locked SQLite file or a refusing PostgreSQL would give it. Nothing of the
service, the bus or the database is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event


class StoreFault:
    """Fail statements starting with ``statement`` (and matching ``when``) ``times`` times
    (``None``: every time) with the driver's ``error`` class (``"OperationalError"``,
    ``"DataError"``, ...) and ``message``. ``hits`` counts the failures raised."""

    def __init__(
        self,
        engine: Engine,
        *,
        statement: str,
        error: str = "OperationalError",
        message: str = "database is locked",
        times: int | None = None,
        when: Callable[[Any], bool] = lambda parameters: True,
    ) -> None:
        self._engine = engine
        self._statement = statement.upper()
        self._error: type[Exception] = getattr(engine.dialect.loaded_dbapi, error)
        self._message = message
        self._left = times
        self._when = when
        self.hits = 0
        event.listen(engine, "before_cursor_execute", self._before)

    def remove(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)

    def _before(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _many: bool,
    ) -> None:
        if not statement.lstrip().upper().startswith(self._statement):
            return
        if self._left == 0 or not self._when(parameters):
            return
        if self._left is not None:
            self._left -= 1
        self.hits += 1
        raise self._error(self._message)


def parameter_values(parameters: Any) -> list[Any]:
    """The values of a statement's parameters, positional (SQLite) or named (psycopg)."""
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters or ())
