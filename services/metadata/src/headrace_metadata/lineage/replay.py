"""Read a JetStream stream from its first message to its last, in order (nats-py's ordered
ephemeral consumer: nothing is acknowledged and nothing is left on the server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
from nats.js.api import DeliverPolicy

from headrace_contracts import CATALOGUE, ContractError, Envelope, Message, decode

__all__ = ["replay"]


async def replay(
    url: str, stream: str, *, idle_timeout: float = 5.0
) -> AsyncIterator[Envelope[Message]]:
    """Every message stored in ``stream`` when the replay starts, in stream order.

    A message whose type the catalogue does not know is skipped. Raises
    ``nats.errors.TimeoutError`` when the server sends nothing for ``idle_timeout`` seconds
    before the last message is reached.
    """
    connection = await nats.connect(url, name="headrace-metadata-rebuild")
    try:
        js = connection.jetstream()
        info = await js.stream_info(stream)
        last = info.state.last_seq
        if info.state.messages == 0:
            return
        sub = await js.subscribe(
            ">", stream=stream, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        try:
            while True:
                msg = await sub.next_msg(timeout=idle_timeout)
                seq = msg.metadata.sequence.stream
                try:
                    envelope = decode(msg.headers, msg.data, CATALOGUE, subject=msg.subject)
                except ContractError:
                    envelope = None  # unknown or malformed: no service ever handled it
                if envelope is not None:
                    yield envelope
                if seq >= last:
                    return
        finally:
            await sub.unsubscribe()
    finally:
        await connection.close()
