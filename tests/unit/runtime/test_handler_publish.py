"""HandlerContext.publish: one outbox row per message and key, a repeat refused, and a
publish never walking the messages published before it (its cost does not grow with them;
the timing is bench/scheduler_scale.py's to show, not a test's)."""

import pytest
from sqlmodel import Session, create_engine

from headrace_contracts import Envelope, StepSkipped
from headrace_runtime import HandlerContext


def context() -> HandlerContext[StepSkipped]:
    envelope = Envelope(
        message=StepSkipped(run_id="r", step_id="s"),
        id="incoming-1",
        source="test",
        type=StepSkipped.ce_type(),
        time=None,
        subject=StepSkipped.subject(),
    )
    session = Session(create_engine("sqlite://"))
    return HandlerContext(envelope=envelope, session=session, source="test", service="test")


def test_a_message_published_twice_with_one_key_is_refused() -> None:
    ctx = context()
    first = ctx.publish(StepSkipped(run_id="r", step_id="a"), key="a")
    second = ctx.publish(StepSkipped(run_id="r", step_id="b"), key="b")
    assert ctx.published == [first, second]
    with pytest.raises(ValueError, match="published twice for one message"):
        ctx.publish(StepSkipped(run_id="r", step_id="a"), key="a")


class Unwalkable(list[object]):
    """An outbox that fails the test if anything walks it: the only way a publish could cost
    more the more messages were published before it."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("publish walked the messages published before it")

    def __contains__(self, item: object) -> bool:
        raise AssertionError("publish searched the messages published before it")


def test_a_publish_does_not_walk_the_messages_published_before_it() -> None:
    ctx = context()
    ctx._outbox = Unwalkable()  # type: ignore[assignment]
    for i in range(10_000):
        ctx.publish(StepSkipped(run_id="r", step_id=str(i)), key=str(i))
    assert len(ctx._outbox) == 10_000
    with pytest.raises(ValueError, match="published twice for one message"):
        ctx.publish(StepSkipped(run_id="r", step_id="0"), key="0")
