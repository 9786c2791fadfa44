"""A training job replica's log over HTTP, as a step's is (:mod:`.logs`):
``GET /api/v1/jobs/{name}/replicas/{replica}/log?offset=N`` and ``.../log/stream``. Where
the log is comes from the trainer's view of the job (``GetTrainingJob``); the text from the
artifact store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse

from headrace_contracts import TrainingJobView

from .deps import ApiDeps
from .errors import not_found, refusals
from .live import LiveEvent
from .logs import LOG_STREAM_DOC, Offset, StepLog, log_doc, log_response, streamed_log
from .proxies import find_job
from .routes import known_parameters

JOB_FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
REPLICA_FINAL_STATES = frozenset({"Succeeded", "Failed"})
Name = Annotated[str, Path(description="the job's name")]
Replica = Annotated[str, Path(description="the replica: role-index, e.g. worker-1")]
Namespace = Annotated[str, Query(description="the job's namespace")]


def replica_log(job: TrainingJobView, replica: str) -> StepLog:
    """Where ``replica`` of ``job`` writes its log and whether it is whole; 404 naming the
    replicas there are."""
    for one in job.replicas:
        if f"{one.role}-{one.index}" == replica:
            complete = one.state in REPLICA_FINAL_STATES or job.state in JOB_FINAL_STATES
            return StepLog(one.log_uri, one.state, complete)
    known = ", ".join(f"{r.role}-{r.index}" for r in job.replicas) or "none yet"
    raise not_found(
        f"training job {job.name!r} in namespace {job.namespace!r} has no replica "
        f"{replica!r} (its replicas: {known}; GET /api/v1/jobs/{job.name} lists them)"
    )


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    async def find(name: str, replica: str, namespace: str) -> StepLog:
        return replica_log(await find_job(deps, name, namespace), replica)

    @api.get(
        "/jobs/{name}/replicas/{replica}/log",
        tags=["training"],
        response_class=Response,
        responses={
            200: log_doc("the replica or the job"),
            **refusals(
                e404="no such job or replica",
                e502="the artifact store failed",
                e503="the trainer does not answer",
            ),
        },
    )
    async def log(
        name: Name, replica: Replica, offset: Offset = 0, namespace: Namespace = "default"
    ) -> Response:
        """The replica's log from byte ``offset`` (at most 4 MiB; ask again from
        ``offset + length`` for more)."""
        found = await find(name, replica, namespace)
        return await log_response(deps, found, offset, state_header="X-Replica-State")

    @api.get(
        "/jobs/{name}/replicas/{replica}/log/stream",
        tags=["training"],
        response_class=StreamingResponse,
        responses={
            200: LOG_STREAM_DOC,
            **refusals(e404="no such job or replica", e503="the trainer does not answer"),
        },
    )
    async def log_stream(
        name: Name, replica: Replica, offset: Offset = 0, namespace: Namespace = "default"
    ) -> StreamingResponse:
        """The replica's log from ``offset`` and what it writes next, until it has ended."""
        await find(name, replica, namespace)  # 404 now, not in the stream

        def of_jobs(event: LiveEvent) -> bool:
            return event.type.startswith("io.headrace.trainingjob.")

        return streamed_log(deps, lambda: find(name, replica, namespace), of_jobs, offset)

    return api
