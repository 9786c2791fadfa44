"""The live event hub: filters, bounded queues, listeners freed on leaving."""

from __future__ import annotations

import json

from headrace_metadata.api.live import LiveEvent, LiveHub, matcher


def event(n: int, run_id: str = "r1", kind: str = "io.headrace.step.ready.v1") -> LiveEvent:
    return LiveEvent(kind, f"id-{n}", "headrace.step.ready", "t", {"run_id": run_id}, run_id)


async def test_listeners_get_what_their_filter_keeps_in_order() -> None:
    hub = LiveHub()
    with (
        hub.listen(matcher(run_id="r1")) as mine,
        hub.listen(matcher(type_prefix="io.headrace.run")) as runs,
    ):
        assert len(hub) == 2
        hub.deliver(event(1))
        hub.deliver(event(2, run_id="r2"))
        hub.deliver(event(3, kind="io.headrace.run.started.v1"))
        assert [mine.queue.get_nowait().id for _ in range(2)] == ["id-1", "id-3"]  # type: ignore[union-attr]
        assert runs.queue.get_nowait().id == "id-3"  # type: ignore[union-attr]
        assert mine.queue.empty()
        assert runs.queue.empty()
    assert len(hub) == 0


async def test_a_listener_that_falls_behind_is_ended() -> None:
    hub = LiveHub(queue_size=2)
    with hub.listen(matcher()) as slow:
        for n in range(3):
            hub.deliver(event(n))
        assert slow.overflowed
        assert slow.queue.get_nowait() is None
        hub.deliver(event(9))
        assert slow.queue.empty()


async def test_stopping_ends_every_listener() -> None:
    hub = LiveHub()
    with hub.listen(matcher()) as one:
        await hub.stop()
        assert one.queue.get_nowait() is None
        assert not one.overflowed


def test_an_event_as_sse() -> None:
    text = event(1).sse()
    head, data = text.rstrip("\n").rsplit("\n", 1)
    assert head == "event: io.headrace.step.ready.v1\nid: id-1"
    assert json.loads(data.removeprefix("data: ")) == {
        "type": "io.headrace.step.ready.v1",
        "id": "id-1",
        "subject": "headrace.step.ready",
        "time": "t",
        "data": {"run_id": "r1"},
    }
    assert text.endswith("\n\n")
