"""When a schedule's ticks fall: a cron expression or a fixed interval (pure, no I/O).

Shared by the client (to reject a bad ``--cron``/``--every`` before sending) and the
scheduler (to fire). Cron expressions are read by ``croniter``:

* 5 fields: ``minute hour day-of-month month day-of-week`` (standard cron);
* 6 fields: ``second minute hour day-of-month month day-of-week`` (KFP's recurring-run
  format, seconds first).

An interval is a whole number of seconds, minutes, hours or days: ``30s``, ``5m``, ``1h``,
``1d``, or several of them together (``1h30m``). Every time here is timezone-aware UTC.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from croniter import croniter

from .arguments import bind_arguments, missing_parameters
from .errors import SpecError
from .plan import Plan

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TINY = timedelta(microseconds=1)


class Timing(Protocol):
    """The ticks of a schedule."""

    def after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``."""
        ...

    def latest(self, moment: datetime) -> datetime | None:
        """The last tick at or before ``moment`` (None if there is none)."""
        ...


def parse_duration(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``1d`` or a sum such as ``1h30m``; :class:`SpecError` names
    the text and the forms accepted."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise SpecError(
            f"interval {text!r} is not a duration: write a whole number with a unit, "
            "s, m, h or d (30s, 5m, 1h, 1h30m)",
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds < 1:
        raise SpecError(f"interval {text!r} is zero: give at least 1s")
    return timedelta(seconds=seconds)


def check_cron(expression: str) -> str:
    """``expression`` with its fields separated by single spaces, if croniter reads it as a
    5-field or 6-field (seconds first) cron expression; :class:`SpecError` otherwise."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise SpecError(
            f"cron expression {expression!r} has {len(fields)} fields: give 5 (minute hour "
            "day-of-month month day-of-week) or 6 (second first, as KFP writes them)",
        )
    normal = " ".join(fields)
    try:
        croniter(normal, datetime(2000, 1, 1, tzinfo=UTC), second_at_beginning=len(fields) == 6)
    except (ValueError, KeyError) as exc:
        raise SpecError(f"cron expression {expression!r} is not valid: {exc}") from None
    return normal


@dataclass(frozen=True)
class Cron:
    expression: str

    def _iter(self, moment: datetime) -> croniter:
        six = len(self.expression.split()) == 6
        return croniter(self.expression, moment, second_at_beginning=six)

    def after(self, moment: datetime) -> datetime:
        found: datetime = self._iter(moment).get_next(datetime)
        return found.astimezone(UTC)

    def latest(self, moment: datetime) -> datetime | None:
        # get_prev is strictly before its start: start a hair after ``moment``.
        found: datetime = self._iter(moment + _TINY).get_prev(datetime)
        return found.astimezone(UTC)


@dataclass(frozen=True)
class Interval:
    """Ticks at ``anchor + k * every`` for every whole k >= 0."""

    anchor: datetime
    every: timedelta

    def after(self, moment: datetime) -> datetime:
        if moment < self.anchor:
            return self.anchor
        k = math.floor((moment - self.anchor) / self.every) + 1
        return self.anchor + k * self.every

    def latest(self, moment: datetime) -> datetime | None:
        if moment < self.anchor:
            return None
        return self.anchor + math.floor((moment - self.anchor) / self.every) * self.every


def check_schedule_arguments(plan: Plan, arguments: dict[str, Any]) -> None:
    """:class:`SpecError` naming every parameter a schedule of ``plan`` needs and does not
    give (a schedule is refused at creation, not at its first tick), else the checks of
    :func:`bind_arguments`."""
    missing = missing_parameters(plan, arguments)
    if missing:
        names = ", ".join(repr(name) for name in missing)
        flags = " ".join(f"-p {name}=VALUE" for name in missing)
        raise SpecError(
            f"pipeline {plan.name!r} needs parameter{'s' if len(missing) > 1 else ''} {names}, "
            f"which the schedule does not give: pass {'them' if len(missing) > 1 else 'it'} "
            f"(CLI: {flags})"
        )
    bind_arguments(plan, arguments)


def timing(cron: str, every: str, anchor: datetime) -> Timing:
    """The ticks of a schedule given by exactly one of ``cron`` or ``every`` (an interval's
    ticks count from ``anchor``)."""
    if bool(cron) == bool(every):
        raise SpecError(
            "a schedule needs exactly one of a cron expression (--cron) or an interval (--every)",
        )
    if cron:
        return Cron(check_cron(cron))
    return Interval(anchor.astimezone(UTC), parse_duration(every))
