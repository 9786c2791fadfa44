"""Waiting for the event that answers a command, on a real nats-server: an answer sent the
moment the command arrives is not missed, answers to other commands are passed over, and
no answer ends in TimeoutError with the subscriptions gone."""

from __future__ import annotations

import pytest

from headrace_bus import Bus, first_answer
from headrace_contracts import Message, RunRejected, RunStarted, encode


async def answer(bus: Bus, message: Message) -> None:
    """Publish ``message`` as its service would (core NATS reaches the subscriber the same)."""
    subject, data, headers = encode(message, source="tests/answerer")
    await bus.connection.publish(subject, data, headers=headers)


async def test_the_answer_to_this_command_comes_back_and_others_are_passed_over(
    client: Bus,
) -> None:
    async def answers_at_once() -> None:
        # Answers to other runs come first, then this one's: all before send() returns.
        await answer(client, RunStarted(run_id="other-run"))
        await answer(client, RunRejected(run_id="mine-but-longer", reason="not mine"))
        await answer(client, RunRejected(run_id="mine", reason="no such parameter 'n'"))

    found = await first_answer(
        client, answers_at_once, (RunStarted, RunRejected), field="run_id", value="mine", timeout=5
    )
    assert found == RunRejected(run_id="mine", reason="no such parameter 'n'")


async def test_no_answer_times_out_and_unsubscribes(client: Bus) -> None:
    before = len(client.connection._subs)

    async def send() -> None:
        await answer(client, RunStarted(run_id="someone-else"))

    with pytest.raises(TimeoutError):
        await first_answer(
            client, send, (RunStarted, RunRejected), field="run_id", value="mine", timeout=0.3
        )
    assert len(client.connection._subs) == before


async def test_what_send_raises_passes_through(client: Bus) -> None:
    async def send() -> None:
        raise ConnectionError("NATS refused the command")

    with pytest.raises(ConnectionError, match="refused"):
        await first_answer(client, send, (RunStarted,), field="run_id", value="x", timeout=5)
