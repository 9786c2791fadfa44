"""``GET /api/v1/events``: live bus events as Server-Sent Events (see :mod:`.live`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from .deps import ApiDeps
from .live import event_stream, matcher
from .routes import known_parameters

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}
}


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.get("/events", tags=["live"], response_class=StreamingResponse, responses=STREAM)
    async def events(
        run_id: Annotated[str, Query(description="only events whose payload has this run_id")] = "",
        type_prefix: Annotated[
            str, Query(description="only events whose ce-type starts so, e.g. io.headrace.step")
        ] = "",
    ) -> StreamingResponse:
        """Each domain event (and telemetry) as it is published: ``event: <ce-type>``,
        ``id: <ce-id>``, ``data: {"type", "id", "subject", "time", "data"}``; a comment every
        15 s keeps the connection open."""
        hub = deps.need_live()
        return StreamingResponse(
            event_stream(hub, matcher(run_id, type_prefix)),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    return api
