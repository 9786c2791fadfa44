"""Asking the running platform how it is: a ``Ping`` gathered over the bus."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import nats.errors

from headrace_bus import Bus, BusConfig
from headrace_contracts import Ping, Pong

from .health import PlatformStatus, aggregate
from .home import PlatformState
from .natsserver import port_open

POLL_INTERVAL = 0.1


class PlatformNotReady(RuntimeError):
    """The platform stopped trying (e.g. its supervisor died) before every replica answered."""


def nats_reachable(url: str) -> bool:
    """Quick check before connecting: nats-py would otherwise retry an absent server forever."""
    if "," in url:
        return True  # a server list: let the client pick
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    try:
        port = parts.port or 4222
    except ValueError:
        return False
    return port_open(parts.hostname or "127.0.0.1", port, timeout=0.5)


@contextlib.asynccontextmanager
async def connected(url: str, *, timeout: float = 5.0) -> AsyncIterator[Bus | None]:
    """A bus connected to ``url``, or ``None`` when NATS does not answer in ``timeout`` s."""
    if not nats_reachable(url):
        yield None
        return
    bus = Bus(BusConfig(url=url, client_name="headrace-cli"), source="headrace/cli")
    try:
        await asyncio.wait_for(bus.connect(), timeout)
    except Exception:
        with contextlib.suppress(Exception):
            await bus.close()
        yield None
        return
    try:
        yield bus
    finally:
        await bus.close()


def expected_replicas(state: PlatformState | None) -> int | None:
    if state is None:
        return None
    return sum(record.replicas for record in state.services.values())


async def gather_pongs(bus: Bus, *, timeout: float, expected: int | None) -> list[Pong]:
    try:
        replies = await bus.gather(Ping(), timeout=timeout, expected=expected)
    except nats.errors.Error:  # connection lost or reconnecting: nobody answered this time
        return []
    return [reply for reply in replies if isinstance(reply, Pong)]


async def probe(
    state: PlatformState | None, nats_url: str, *, timeout: float = 0.5
) -> PlatformStatus:
    """One look at the platform: what the state file says, checked against who answers."""
    url = state.nats_url if state else nats_url
    async with connected(url) as bus:
        if bus is None:
            return aggregate(state, [], nats_url=url, nats_reachable=False)
        pongs = await gather_pongs(bus, timeout=timeout, expected=expected_replicas(state))
    return aggregate(state, pongs, nats_url=url)


async def wait_until_healthy(
    load_state: Callable[[], PlatformState | None],
    *,
    timeout: float,
    give_up: Callable[[], str | None] = lambda: None,
) -> PlatformStatus | None:
    """Poll (every ~100 ms) until every wanted replica answers healthy, or ``timeout``.

    Returns the last status seen (``None`` when the state file never appeared); raises
    :class:`PlatformNotReady` with the reason ``give_up()`` returns once it returns one.
    """
    deadline = time.monotonic() + timeout
    state = load_state()
    while state is None:
        _check(give_up)
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL_INTERVAL)
        state = load_state()
    status = aggregate(state, [], nats_url=state.nats_url, nats_reachable=False)
    while time.monotonic() < deadline:
        async with connected(state.nats_url, timeout=max(deadline - time.monotonic(), 0.1)) as bus:
            while bus is not None and time.monotonic() < deadline:
                state = load_state() or state
                pongs = await gather_pongs(bus, timeout=0.25, expected=expected_replicas(state))
                status = aggregate(state, pongs, nats_url=state.nats_url)
                if status.healthy:
                    return status
                _check(give_up)
                await asyncio.sleep(POLL_INTERVAL)
        _check(give_up)
        await asyncio.sleep(POLL_INTERVAL)
        state = load_state() or state
    return status


def _check(give_up: Callable[[], str | None]) -> None:
    reason = give_up()
    if reason:
        raise PlatformNotReady(reason)
