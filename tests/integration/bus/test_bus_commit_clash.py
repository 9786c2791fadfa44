"""A commit that fails on a unique key is not taken for a message handled elsewhere unless the
message's own processed row is there: otherwise the message is tried again, not dropped.
Against a real nats-server and a real SQLite database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from headrace_bus import Bus
from headrace_contracts import ArtifactRef, ArtifactWritten
from headrace_runtime import HandlerContext, Service, Settings
from headrace_testing import wait_for

Start = Callable[[Service], Awaitable[Service]]


class Recorded(SQLModel, table=True):
    __tablename__ = "test_commit_clash"

    event_id: str = Field(primary_key=True)


async def test_a_commit_clashing_on_another_key_is_retried_not_dropped(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    service = Service("alpha", settings(max_deliver=5), tables=[Recorded])
    deliveries: list[str] = []

    @service.handles(ArtifactWritten)
    async def record(message: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        deliveries.append(ctx.event_id)
        ctx.session.add(Recorded(event_id=ctx.event_id))

    await started(service)
    assert service.engine is not None
    clashes: list[int] = []

    def clash_once(connection: Any) -> None:
        # As a unique key checked at commit (a deferred constraint) would fail it.
        if not clashes:
            clashes.append(1)
            raise IntegrityError("COMMIT", {}, Exception("UNIQUE constraint failed: other.key"))

    event.listen(service.engine, "commit", clash_once)
    event_id = await client.publish(
        ArtifactWritten(artifact=ArtifactRef(uri="file:///a"), run_id="r")
    )

    def recorded() -> list[str]:
        assert service.engine is not None
        with Session(service.engine) as session:
            return list(session.exec(select(Recorded.event_id)).all())

    await wait_for(lambda: recorded() == [event_id], 10, "the message to be handled")
    assert clashes == [1]
    assert deliveries == [event_id, event_id]  # tried again after the clash, once
