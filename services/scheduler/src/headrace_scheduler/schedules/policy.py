"""Which ticks of a schedule fire now (pure: no clock, no database).

* A schedule's first tick is the first at or after ``start_at`` when that is still ahead,
  else the first after its creation (or resumption).
* When the timer finds ticks due (after downtime, or held by ``max_concurrency``): with
  ``catchup`` they fire oldest first, at most :data:`CATCHUP_CAP` of them (older ones beyond
  the cap are dropped); without it only the latest fires.
* ``capacity`` (``max_concurrency`` less the schedule's runs that have not ended) bounds how
  many fire now; the rest stay due, so they are held until runs end.
* No tick after ``end_at`` fires; the schedule's ``next_fire_at`` is then None.
* The run id of a tick is derived from the schedule and the tick time, so firing the same
  tick twice submits the same run, which the scheduler takes once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from headrace_pipelines import Timing

CATCHUP_CAP = 100
"""Most missed ticks run after downtime with ``catchup``; older ones are dropped."""

_TINY = timedelta(microseconds=1)
_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Firing:
    ticks: list[datetime] = field(default_factory=list)
    next_fire_at: datetime | None = None
    dropped: bool = False
    """Whether missed ticks beyond :data:`CATCHUP_CAP` were dropped."""


def first_tick(
    timing: Timing, now: datetime, start_at: datetime | None, end_at: datetime | None
) -> datetime | None:
    if start_at is not None and start_at > now:
        first = timing.after(start_at - _TINY)
    else:
        first = timing.after(now)
    return None if end_at is not None and first > end_at else first


def plan_firing(
    timing: Timing,
    next_fire_at: datetime | None,
    now: datetime,
    *,
    catchup: bool,
    capacity: int,
    end_at: datetime | None,
    cap: int = CATCHUP_CAP,
) -> Firing:
    """The ticks to fire at ``now`` and the schedule's next ``next_fire_at``."""
    if next_fire_at is None or next_fire_at > now:
        return Firing(next_fire_at=next_fire_at)
    horizon = min(now, end_at) if end_at is not None else now
    latest = timing.latest(horizon)
    if latest is None or latest < next_fire_at:
        ended = end_at is not None and next_fire_at > end_at
        return Firing(next_fire_at=None if ended else next_fire_at)
    due = [latest]
    dropped = False
    if catchup:
        while True:
            earlier = timing.latest(due[-1] - _TINY)
            if earlier is None or earlier < next_fire_at:
                break
            if len(due) >= cap:
                dropped = True
                break
            due.append(earlier)
        due.reverse()
    if capacity <= 0:
        return Firing(next_fire_at=next_fire_at)  # held until runs end
    fire = due[:capacity]
    following: datetime | None = timing.after(fire[-1])
    if end_at is not None and following is not None and following > end_at:
        following = None
    return Firing(ticks=fire, next_fire_at=following, dropped=dropped)


def tick_run_id(name: str, schedule_id: str, tick: datetime) -> str:
    """``<name>-<yyyymmdd-hhmmss>-<6 hex of the schedule id>``: one run id per tick."""
    stamp = tick.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    base = _NOT_ALLOWED.sub("-", name.lower()).strip("-")[:90] or "schedule"
    return f"{base}-{stamp}-{schedule_id.replace('-', '')[:6]}"
