"""Database work runs off the event loop: a query held in a database read does not hold up
the handling of events, and a handler held in the database does not hold up queries.

Each test holds one side inside a real database call that cannot end until the test lets
it (SQLite: a SQL function waiting on a gate; PostgreSQL: an advisory lock the test holds),
and shows the other side done meanwhile: an ordering, not a timing. With database work on the
event loop, the loop itself would be held and neither test could pass.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Field, Session, SQLModel, func, select

from headrace_bus import Bus
from headrace_contracts import (
    ArtifactList,
    ArtifactRef,
    ArtifactWritten,
    ListArtifacts,
    ListRuns,
    Ping,
    Pong,
    RunList,
)
from headrace_runtime import HandlerContext, Service, Settings
from headrace_testing import wait_for

Start = Callable[[Service], Awaitable[Service]]
LOCK_KEY = 7_421_001
HELD_FOR_AT_MOST = 10.0  # s: the held side gives up after this, so a failing test ends


class Handled(SQLModel, table=True):
    __tablename__ = "test_loop_free_handled"

    uri: str = Field(primary_key=True)


class Gate:
    """A database call that returns only once the test opens the gate."""

    sql = ""

    def attach(self, engine: Engine) -> None: ...

    async def entered(self) -> None: ...

    def open(self) -> None: ...

    def hold(self, session: Session) -> None:
        session.exec(text(self.sql))  # type: ignore[call-overload]


class SqliteGate(Gate):
    """``SELECT held()``: a SQL function that waits, inside SQLite, for the gate to open."""

    sql = "SELECT held()"

    def __init__(self) -> None:
        self._in = threading.Event()
        self._open = threading.Event()

    def _held(self) -> int:
        self._in.set()
        return int(self._open.wait(HELD_FOR_AT_MOST))

    def attach(self, engine: Engine) -> None:
        def register(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.create_function("held", 0, self._held)

        event.listen(engine, "connect", register)
        engine.dispose()  # the pooled connections were made without the function

    async def entered(self) -> None:
        assert await asyncio.to_thread(self._in.wait, HELD_FOR_AT_MOST), "the gate was not reached"

    def open(self) -> None:
        self._open.set()


class PostgresGate(Gate):
    """``pg_advisory_xact_lock_shared``: waits, inside PostgreSQL, for the test's lock."""

    sql = f"SELECT pg_advisory_xact_lock_shared({LOCK_KEY})"

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url)
        self._holder = self._engine.connect()
        self._holder.execute(text(f"SELECT pg_advisory_lock({LOCK_KEY})"))
        self._holder.commit()

    def hold(self, session: Session) -> None:
        session.exec(text(f"SET LOCAL lock_timeout = '{int(HELD_FOR_AT_MOST)}s'"))  # type: ignore[call-overload]
        super().hold(session)

    def _waiting(self) -> bool:
        with self._engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = :key AND NOT granted"
                ),
                {"key": LOCK_KEY},
            )
            return bool(found.scalar())

    async def entered(self) -> None:
        await wait_for(self._waiting, HELD_FOR_AT_MOST, "a session waiting on the lock")

    def open(self) -> None:
        if not self._holder.closed:
            self._holder.execute(text(f"SELECT pg_advisory_unlock({LOCK_KEY})"))
            self._holder.commit()
            self._holder.close()

    def close(self) -> None:
        self.open()
        self._engine.dispose()


@pytest.fixture
def gate(database_url: str) -> Iterator[Gate]:
    if database_url.startswith("sqlite"):
        sqlite = SqliteGate()
        yield sqlite
        sqlite.open()
    else:
        postgres = PostgresGate(database_url)
        yield postgres
        postgres.close()


def artifact(name: str) -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri=f"file:///tmp/{name}"), run_id="r1")


def counted(service: Service) -> int:
    assert service.engine is not None
    with Session(service.engine) as session:
        return int(session.exec(select(func.count()).select_from(Handled)).one())


def gated_service(settings: Settings, gate: Gate) -> tuple[Service, list[str]]:
    """A service recording each artifact, which holds in the gate on ``file:///tmp/held``,
    and answering ``ListArtifacts`` with the number recorded (holding in the gate when
    asked for ``run_id="held"``)."""
    service = Service("gated", settings, tables=[Handled])
    handled: list[str] = []

    @service.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        if event.artifact.uri.endswith("/held"):
            gate.hold(ctx.session)
        ctx.session.add(Handled(uri=event.artifact.uri))
        handled.append(event.artifact.uri)

    @service.answers(ListArtifacts)
    async def count(query: ListArtifacts) -> ArtifactList:
        assert service.engine is not None
        with Session(service.engine) as session:
            if query.run_id == "held":
                gate.hold(session)
            total = session.exec(select(func.count()).select_from(Handled)).one()
        return ArtifactList(total=int(total))

    return service, handled


async def test_a_query_held_in_the_database_does_not_hold_up_events(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str, gate: Gate
) -> None:
    service, handled = gated_service(settings(database_url=database_url), gate)
    await started(service)
    assert service.engine is not None
    gate.attach(service.engine)

    held = asyncio.create_task(
        client.request(ListArtifacts(run_id="held"), timeout=3 * HELD_FOR_AT_MOST)
    )
    await gate.entered()
    for i in range(20):
        await client.publish(artifact(f"e{i}"))
    await wait_for(lambda: len(handled) == 20, HELD_FOR_AT_MOST, "20 events handled")
    await wait_for(lambda: counted(service) == 20, HELD_FOR_AT_MOST, "20 events committed")
    assert not held.done(), "the held query ended before the gate opened"

    gate.open()
    reply = await held
    assert isinstance(reply, ArtifactList)
    assert reply.total == 20  # it read after the gate: every event had been committed


async def test_a_handler_held_in_the_database_does_not_hold_up_queries(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str, gate: Gate
) -> None:
    service, handled = gated_service(settings(database_url=database_url), gate)
    await started(service)
    assert service.engine is not None
    gate.attach(service.engine)
    await client.publish(artifact("before"))
    await wait_for(lambda: counted(service) == 1, HELD_FOR_AT_MOST, "the first event committed")

    await client.publish(artifact("held"))
    await gate.entered()
    answered = await client.request(ListArtifacts(), timeout=HELD_FOR_AT_MOST)
    pong = await client.request(Ping(service="gated"), timeout=HELD_FOR_AT_MOST)
    assert isinstance(answered, ArtifactList)
    assert answered.total == 1  # the held handler's transaction has not committed
    assert isinstance(pong, Pong)
    assert pong.healthy
    assert "file:///tmp/held" not in handled

    gate.open()
    await wait_for(lambda: counted(service) == 2, HELD_FOR_AT_MOST, "the held event committed")


async def test_handlers_and_queries_run_on_the_threads_they_are_given(
    settings: Callable[..., Settings], client: Bus, started: Start, sqlite_url: str
) -> None:
    ran: dict[str, str] = {}
    service = Service("placed", settings(database_url=sqlite_url))

    @service.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        ran["handler"] = threading.current_thread().name

    @service.answers(ListArtifacts)
    async def listed(query: ListArtifacts) -> ArtifactList:
        ran["query"] = threading.current_thread().name
        return ArtifactList()

    @service.answers(ListRuns, in_thread=False)
    async def runs(query: ListRuns) -> RunList:
        ran["on the loop"] = threading.current_thread().name
        return RunList()

    await started(service)
    await client.publish(artifact("placed"))
    await client.request(ListArtifacts())
    await client.request(ListRuns())
    await wait_for(lambda: "handler" in ran, HELD_FOR_AT_MOST, "the event handled")
    assert ran == {
        "handler": "placed-handling",
        "query": "placed-query-0",
        "on the loop": threading.main_thread().name,
    }
