"""The pull loop against a real nats-server: a fetch takes at once what is pending, and a
lone message after an idle spell is handed on at once, never waiting for a batch to fill."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.msg import Msg

from headrace_bus import Bus
from headrace_bus.errors import PullFailed
from headrace_bus.puller import BatchHandler, Puller
from headrace_bus.pulls import Pulls
from headrace_bus.streams import ensure_consumer
from headrace_contracts import ArtifactRef, ArtifactWritten
from headrace_testing import wait_for

POLL = 30.0  # far longer than any wait below: a fetch that waited for its batch would fail


def artifact(i: int) -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri=f"file:///tmp/f{i}"), run_id="r1")


class Recorder:
    """A batch handler that acks and records the size of each batch."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.arrived = asyncio.Event()

    async def __call__(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            await msg.ack()
        self.batches.append(len(msgs))
        self.arrived.set()


async def puller_on(
    client: Bus,
    durable: str,
    handle: BatchHandler,
    *,
    batch_size: int = 256,
    prefetch: bool = False,
) -> Puller:
    await ensure_consumer(client.jetstream, client.config, durable, [ArtifactWritten.subject()])
    return Puller(
        client.connection,
        client.config.stream,
        handle,
        name=durable,
        batch_size=batch_size,
        poll=POLL,
        prefetch=prefetch,
    )


async def wait_until_pulling(client: Bus, durable: str) -> None:
    """Until the server holds a pull of the consumer's (its puller is idle, waiting)."""
    deadline = asyncio.get_running_loop().time() + 10
    while (await client.jetstream.consumer_info(client.config.stream, durable)).num_waiting < 1:
        assert asyncio.get_running_loop().time() < deadline, f"{durable} never pulled"
        await asyncio.sleep(0.02)


async def wait_until_delivered(client: Bus, durable: str, count: int) -> None:
    """Until ``count`` messages are delivered to the consumer and not yet acknowledged."""
    deadline = asyncio.get_running_loop().time() + 10
    while (
        await client.jetstream.consumer_info(client.config.stream, durable)
    ).num_ack_pending < count:
        assert asyncio.get_running_loop().time() < deadline, f"{durable}: not {count} delivered"
        await asyncio.sleep(0.02)


async def test_a_backlog_comes_in_one_fetch(client: Bus) -> None:
    for i in range(100):
        await client.publish(artifact(i))
    recorder = Recorder()
    puller = await puller_on(client, "backlog", recorder)
    puller.start()
    try:
        await wait_for(lambda: sum(recorder.batches) == 100, what="the backlog of 100")
        assert recorder.batches == [100]
    finally:
        await puller.close()


async def test_a_backlog_larger_than_the_batch_comes_in_full_batches(client: Bus) -> None:
    """A pull that got its whole batch ends with it (no status follows): the next pull
    takes the rest, and the last, short one ends on the server's "no more" at once."""
    for i in range(12):
        await client.publish(artifact(i))
    recorder = Recorder()
    puller = await puller_on(client, "batches", recorder, batch_size=5)
    puller.start()
    try:
        await wait_for(lambda: sum(recorder.batches) == 12, what="the backlog of 12")
        assert recorder.batches == [5, 5, 2]
    finally:
        await puller.close()


async def test_a_pull_of_a_consumer_that_does_not_exist_is_refused_by_name(client: Bus) -> None:
    pulls = Pulls(client.connection, client.config.stream, "nobody", batch=10, poll=POLL)
    await pulls.open()
    try:
        with pytest.raises(PullFailed, match="nobody") as refused:
            await pulls.fetch()
        assert refused.value.status
    finally:
        await pulls.close()


async def test_a_lone_message_after_an_idle_spell_is_handled_at_once(client: Bus) -> None:
    recorder = Recorder()
    puller = await puller_on(client, "lone", recorder)
    puller.start()
    try:
        for round_ in range(3):
            await wait_until_pulling(client, "lone")
            recorder.arrived.clear()
            await client.publish(artifact(round_))
            # Not the 30 s the pull may last, nor until 256 messages have come.
            await asyncio.wait_for(recorder.arrived.wait(), timeout=5)
        assert recorder.batches == [1, 1, 1]
    finally:
        await puller.close()


class Held:
    """A batch handler that records each batch's messages and holds its first batch until
    ``release`` is set; cancelled, it gives the batch back as the dispatcher does."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()

    async def __call__(self, msgs: list[Msg]) -> None:
        self.batches.append([msg.headers["ce-id"] if msg.headers else "" for msg in msgs])
        try:
            if len(self.batches) == 1:
                await self.release.wait()
        except asyncio.CancelledError:
            for msg in msgs:
                await msg.nak()
            raise
        for msg in msgs:
            await msg.ack()


async def test_with_prefetch_the_next_batch_is_fetched_while_one_is_handled(client: Bus) -> None:
    held = Held()
    puller = await puller_on(client, "ahead", held, prefetch=True)
    puller.start()
    try:
        first = await client.publish(artifact(0))
        await wait_for(lambda: len(held.batches) == 1, what="the first batch handled")
        await wait_until_pulling(client, "ahead")  # the next pull, while the first is held
        later = [await client.publish(artifact(i)) for i in (1, 2)]
        await wait_until_delivered(client, "ahead", 2)  # one at least taken in meanwhile
        assert held.batches == [[first]]

        held.release.set()
        await wait_for(lambda: sum(len(b) for b in held.batches) == 3, what="all three")
        assert [i for batch in held.batches for i in batch] == [first, *later]  # in order
    finally:
        await puller.close()


async def test_a_batch_fetched_ahead_is_given_back_at_stop(client: Bus) -> None:
    held = Held()
    puller = await puller_on(client, "back", held, prefetch=True)
    puller.start()
    sent = [await client.publish(artifact(10))]
    await wait_for(lambda: len(held.batches) == 1, what="the first batch held")
    await wait_until_pulling(client, "back")
    sent.append(await client.publish(artifact(11)))
    await wait_until_delivered(client, "back", 2)  # the second fetched ahead
    await puller.close()

    again = Held()
    again.release.set()
    resumed = await puller_on(client, "back", again)
    resumed.start()
    try:  # given back, not left for the ack wait to expire (10 s): here at once
        await wait_for(lambda: sum(len(b) for b in again.batches) == 2, 5.0, "both again")
        assert sorted(i for batch in again.batches for i in batch) == sorted(sent)
    finally:
        await resumed.close()
