"""``GET /api/v1/runs/{run_id}/graph``: the run's pipeline as a graph of tasks (from the
pipeline the service kept when the run was submitted), which the dashboard draws with the
run's steps, so steps that have not started yet show too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from headrace_pipelines import SpecError, load_pipeline

from ..runs import submission_of
from ..runs.graph import RunGraph, pipeline_graph
from .deps import ApiDeps
from .errors import not_found, refusals
from .routes import known_parameters


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.get(
        "/runs/{run_id}/graph",
        response_model=RunGraph,
        tags=["runs"],
        responses=refusals(e404="no such run, or no pipeline kept for it"),
    )
    async def graph(run_id: Annotated[str, Path(description="the run's id")]) -> RunGraph:
        """Every task of the run's pipeline, nested as its steps' ids are, with the tasks
        each one waits for."""

        def read() -> RunGraph | None:
            with Session(deps.engine) as session:
                found = submission_of(session, run_id)
            if found is None:
                return None
            try:
                spec, _ = load_pipeline(found[0])
            except SpecError:
                return None
            return RunGraph(run_id=run_id, tasks=pipeline_graph(spec))

        answer = await run_in_threadpool(read)
        if answer is None:
            raise not_found(
                f"no pipeline is kept for run {run_id!r}: it is unknown, or was submitted "
                "before the metadata service kept pipelines (GET /api/v1/runs/{run_id} "
                "still shows its steps)"
            )
        return answer

    return api
