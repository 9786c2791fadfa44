"""A step's log over HTTP: ``GET .../log?offset=N`` (text from byte N, with ``X-Log-Size``
and ``X-Log-Complete``) and ``GET .../log/stream`` (Server-Sent Events of new text until the
step has ended). Read from the artifact store at the step's ``log_uri`` in the run read
model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from headrace_contracts.run_views import RUN_FINAL_STATES

from ..runs import RunRow, StepRow
from .deps import ApiDeps
from .errors import ApiError, not_found, refusals
from .events import SSE_HEADERS
from .live import KEEPALIVE_SECONDS, LiveEvent
from .reading import ArtifactStoreError, read_range
from .routes import known_parameters

STEP_FINAL_STATES = frozenset({"SUCCEEDED", "CACHED", "FAILED", "SKIPPED", "CANCELLED"})
CHUNK_LIMIT = 4 << 20  # bytes in one answer
RECHECK_SECONDS = 1.0  # a growing log gives no notice: read again at most this often
RunId = Annotated[str, Path(description="the run's id")]
StepId = Annotated[str, Path(description="the step's id (may hold '/')")]
Offset = Annotated[int, Query(ge=0, description="the byte to start from")]


@dataclass(frozen=True)
class StepLog:
    """Where a step's (or a training job replica's) log is and whether it is whole."""

    log_uri: str
    state: str
    complete: bool


def step_log(deps: ApiDeps, run_id: str, step_id: str) -> StepLog:
    with Session(deps.engine) as session:
        run = session.get(RunRow, run_id)
        if run is None:
            raise not_found(
                f"no run {run_id!r} is known to the metadata service: check the id "
                "(GET /api/v1/runs lists the runs)"
            )
        step = session.get(StepRow, (run_id, step_id))
        if step is None:
            raise not_found(
                f"run {run_id!r} has no step {step_id!r} (yet): GET /api/v1/runs/{run_id} "
                "lists its steps"
            )
        complete = step.state in STEP_FINAL_STATES or run.state in RUN_FINAL_STATES
        return StepLog(step.log_uri, step.state, complete)


def read_log(deps: ApiDeps, found: StepLog, offset: int) -> tuple[bytes, int]:
    if not found.log_uri:
        return b"", 0
    try:
        return read_range(found.log_uri, offset, CHUNK_LIMIT, deps.s3)
    except ArtifactStoreError as exc:
        if not found.complete:  # not uploaded yet
            return b"", 0
        raise ApiError(502, f"cannot read the log at {found.log_uri}: {exc}") from None


async def log_response(
    deps: ApiDeps, found: StepLog, offset: int, *, state_header: str
) -> Response:
    """The log ``found`` names from byte ``offset`` as text, with its size so far, whether it
    is whole, and its owner's state under ``state_header``."""
    data, size = await run_in_threadpool(read_log, deps, found, offset)
    return Response(
        data,
        media_type="text/plain; charset=utf-8",
        headers={
            "X-Log-Size": str(size),
            "X-Log-Complete": "true" if found.complete else "false",
            state_header: found.state,
        },
    )


def log_doc(ended: str) -> dict[str, Any]:
    """The OpenAPI answer of a log route, whole once ``ended`` has ended."""
    return {
        "content": {"text/plain": {}},
        "description": "the log from ``offset``; headers X-Log-Size (bytes stored so far) "
        f"and X-Log-Complete (true once {ended} has ended)",
    }


LOG_STREAM_DOC: dict[str, Any] = {
    "content": {"text/event-stream": {}},
    "description": 'Server-Sent Events: ``event: log`` with ``{"offset", "text"}`` for each '
    'new piece, ``event: end`` with ``{"state", "size"}`` last',
}


def streamed_log(
    deps: ApiDeps,
    find: Callable[[], Awaitable[StepLog]],
    wakes: Callable[[LiveEvent], bool],
    offset: int,
) -> StreamingResponse:
    """The answer of a log stream route: :func:`follow` as Server-Sent Events."""
    return StreamingResponse(
        follow(deps, find, wakes, offset), media_type="text/event-stream", headers=SSE_HEADERS
    )


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.get(
        "/runs/{run_id}/steps/{step_id:path}/log",
        tags=["runs"],
        response_class=Response,
        responses={
            200: log_doc("the step"),
            **refusals(e404="no such run or step", e502="the artifact store failed"),
        },
    )
    async def log(run_id: RunId, step_id: StepId, offset: Offset = 0) -> Response:
        """The step's log from byte ``offset`` (at most 4 MiB; ask again from
        ``offset + length`` for more)."""
        found = await run_in_threadpool(step_log, deps, run_id, step_id)
        return await log_response(deps, found, offset, state_header="X-Step-State")

    @api.get(
        "/runs/{run_id}/steps/{step_id:path}/log/stream",
        tags=["runs"],
        response_class=StreamingResponse,
        responses={200: LOG_STREAM_DOC, **refusals(e404="no such run or step")},
    )
    async def log_stream(run_id: RunId, step_id: StepId, offset: Offset = 0) -> StreamingResponse:
        """The step's log from ``offset`` and what it writes next, until it has ended."""
        await run_in_threadpool(step_log, deps, run_id, step_id)  # 404 now, not in the stream
        return follow_step(deps, run_id, step_id, offset)

    return api


def follow_step(deps: ApiDeps, run_id: str, step_id: str, offset: int) -> StreamingResponse:
    """A step's log from ``offset`` as Server-Sent Events, woken by the step's events."""

    def of_step(event: LiveEvent) -> bool:
        data: Any = event.data
        return (
            event.run_id == run_id
            and isinstance(data, dict)
            and data.get("step_id") in (step_id, None)
        )

    async def find() -> StepLog:
        return await run_in_threadpool(step_log, deps, run_id, step_id)

    return streamed_log(deps, find, of_step, offset)


async def follow(
    deps: ApiDeps,
    find: Callable[[], Awaitable[StepLog]],
    wakes: Callable[[LiveEvent], bool],
    offset: int,
) -> AsyncIterator[str]:
    """SSE of the log ``find`` locates, from ``offset``: woken by events ``wakes`` accepts,
    else every :data:`RECHECK_SECONDS` while it is written; ends once it is complete and all
    is sent."""
    hub = deps.need_live()
    quiet = 0.0
    with hub.listen(wakes) as listener:
        while True:
            found = await find()
            while True:
                data, size = await run_in_threadpool(read_log, deps, found, offset)
                if not data:
                    break
                text = data.decode("utf-8", errors="replace")
                yield f"event: log\ndata: {json.dumps({'offset': offset, 'text': text})}\n\n"
                offset += len(data)
                quiet = 0.0
            if found.complete:
                end = {"state": found.state, "size": max(size, offset)}
                yield f"event: end\ndata: {json.dumps(end)}\n\n"
                return
            try:
                async with asyncio.timeout(RECHECK_SECONDS):
                    if await listener.queue.get() is None:
                        return  # the service is stopping
            except TimeoutError:
                quiet += RECHECK_SECONDS
                if quiet >= KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    quiet = 0.0
