"""HandlerContext.publish: one outbox row per message and key, a repeat refused, and the
cost of a publish not growing with the number published before it."""

import time

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


def test_ten_thousand_publishes_cost_ten_times_a_thousand() -> None:
    def seconds(n: int) -> float:
        ctx = context()
        start = time.perf_counter()
        for i in range(n):
            ctx.publish(StepSkipped(run_id="r", step_id=str(i)), key=str(i))
        return time.perf_counter() - start

    small, large = seconds(1_000), seconds(10_000)
    assert large < 10 * small * 3, (small, large)  # linear, with room for a busy machine
