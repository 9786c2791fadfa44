"""The autoscaler at run time: sample each revision's concurrency, scale it to the policy's
answer. Runs every ``interval`` seconds on the fleet's event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from ..revisions.revision import Revision

__all__ = ["autoscale_once", "run_autoscaler"]

log = logging.getLogger("headrace.serving.autoscale")


def autoscale_once(revisions: Iterable[Revision], now: float) -> None:
    for revision in revisions:
        revision.policy.observe(now, revision.meter.sample(now))
        if not revision.routable:  # loading, failed or retired: nothing to scale
            continue
        current = len(revision.live())
        busy = revision.in_flight or revision.waiting
        idle_for = 0.0 if busy else now - revision.last_active
        desired = revision.policy.desired(now, current=current, idle_for=idle_for)
        if desired != current:
            log.info("scaling revision %s of %s from %d to %d replicas", revision.name,
                     revision.key, current, desired)  # fmt: skip
            revision.scale_to(desired)


async def run_autoscaler(revisions: Callable[[], Iterable[Revision]], interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        try:
            autoscale_once(list(revisions()), loop.time())
        except Exception:  # one bad tick must not end autoscaling for every service
            log.exception("autoscaling failed")
