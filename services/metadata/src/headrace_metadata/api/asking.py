"""Questions to the other services over the bus, with a service that does not answer as a
503 naming it and how to start it."""

from __future__ import annotations

from typing import TypeVar

from headrace_bus import Bus, NoResponders, RequestFailed, RequestTimeout
from headrace_contracts import Message, Query, Reply

from .errors import ApiError

R = TypeVar("R", bound=Reply)

START = {
    "scheduler": "`headrace up` starts the platform, or run `headrace-scheduler`",
    "trainer": "`headrace up` starts the platform, or run `headrace-trainer`",
    "tuner": "`headrace up` starts the platform, or run `headrace-tuner`",
}


async def ask(bus: Bus, query: Query, reply: type[R], who: str, *, timeout: float) -> R:
    """``who``'s (``scheduler``, ``trainer``, ``tuner``) answer to ``query``."""
    try:
        found = await bus.request(query, timeout=timeout)
    except NoResponders:
        raise ApiError(
            503, f"no {who} answers on NATS ({type(query).__name__}): {START[who]}"
        ) from None
    except RequestTimeout:
        raise ApiError(
            503,
            f"the {who} did not answer {type(query).__name__} within {timeout:g}s: it may be "
            f"busy or down; check `headrace status` ({START[who]})",
        ) from None
    except RequestFailed as exc:
        raise ApiError(502, f"the {who} could not answer: {exc}") from None
    assert isinstance(found, reply)
    return found


async def publish_or_503(bus: Bus, message: Message) -> None:
    """Publish a command; 503 when NATS does not take it."""

    try:
        await bus.publish(message)
    except Exception as exc:
        raise ApiError(
            503,
            f"could not publish {type(message).__name__} to NATS ({type(exc).__name__}: "
            f"{exc}): check the platform with `headrace status`",
        ) from None
