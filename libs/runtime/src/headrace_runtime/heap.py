"""Garbage collection settings for a long-running service process.

A service holds a large heap from its start to its end (imported modules, pydantic and
SQLAlchemy schemas, OpenTelemetry: over 100,000 tracked objects), then allocates many
short-lived containers per message (envelopes, models, rows, futures). With CPython's
defaults a collection runs every 700 net allocations, objects alive for one batch are
promoted, and the full collections that follow walk the whole heap again: under load
about a third of a service's CPU time (measured on the Headrace side of
``bench/bus_latency.py``: some 215-230 us of CPU per event with the defaults, 145-150 with
collection off, 150-185 settled).

Once started, a service moves what it holds into the permanent generation (``gc.freeze``:
never walked again, never freed, as it lives as long as the process anyway) and collects
the young generation every ``YOUNG_THRESHOLD`` allocations, so that what one batch
allocates mostly dies young. Cycles are still collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]


def settle_heap() -> None:
    """Collect once, freeze what survives, and collect the young generation less often.

    For a process that runs one service (``Service.run``), called once it has started."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
