"""Read a JetStream stream from its first message to its last, in order (nats-py's ordered
ephemeral consumer: nothing is acknowledged and nothing is left on the server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from headrace_contracts import CATALOGUE, ContractError, Envelope, Message, decode

__all__ = ["ReplayError", "replay"]


class ReplayError(Exception):
    """The stream cannot be read: NATS does not answer, or there is no such stream."""


@asynccontextmanager
async def replay(
    url: str, stream: str, *, idle_timeout: float = 5.0
) -> AsyncIterator[AsyncIterator[Envelope[Message]]]:
    """``async with replay(url, stream) as messages``: every message stored in ``stream``
    when the replay starts, in stream order.

    Entering raises :class:`ReplayError` when NATS or the stream is not there, before
    anything is read (so a caller can check before it clears what it will refill). A message
    whose type the catalogue does not know is skipped. Reading raises
    ``nats.errors.TimeoutError`` when the server sends nothing for ``idle_timeout`` seconds.
    """
    try:
        connection = await asyncio.wait_for(
            nats.connect(
                url,
                name="headrace-metadata-rebuild",
                connect_timeout=5,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                error_cb=_quiet,
            ),
            10,
        )
    except Exception as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise ReplayError(
            f"cannot reach NATS at {url} ({why}): start the platform's NATS server, or point "
            "HEADRACE_NATS_URL at it"
        ) from None
    try:
        js = connection.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            raise ReplayError(
                f"NATS at {url} has no stream {stream}: nothing was ever published there; "
                "check HEADRACE_NATS_URL"
            ) from None
        last = info.state.last_seq if info.state.messages else 0
        yield _messages(js, stream, last, idle_timeout)
    finally:
        await connection.close()


async def _quiet(_: Exception) -> None:
    """Connection errors surface as :class:`ReplayError`, not as log lines."""


async def _messages(
    js: JetStreamContext, stream: str, last: int, idle_timeout: float
) -> AsyncIterator[Envelope[Message]]:
    if not last:
        return
    sub = await js.subscribe(
        ">", stream=stream, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        while True:
            msg = await sub.next_msg(timeout=idle_timeout)
            try:
                envelope = decode(msg.headers, msg.data, CATALOGUE, subject=msg.subject)
            except ContractError:
                envelope = None  # unknown or malformed: no service ever handled it
            if envelope is not None:
                yield envelope
            if msg.metadata.sequence.stream >= last:
                return
    finally:
        await sub.unsubscribe()
