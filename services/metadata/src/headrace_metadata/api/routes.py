"""The routes of ``/api/v1``: each builds the bus query it mirrors and answers it with the
same function the bus responder calls, in a worker thread (the database is blocking)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from headrace_contracts import (
    ArtifactList,
    GetLineage,
    GetModel,
    InferenceServiceList,
    InferenceServiceView,
    LineageGraph,
    ListArtifacts,
    ListModels,
    ListModelVersions,
    ListRuns,
    ModelList,
    ModelVersionList,
    RegisteredModelView,
    RunExperimentList,
    RunList,
    RunView,
)
from headrace_contracts.registry import DEFAULT_NAMESPACE

from ..handlers import list_artifacts
from ..lineage.graph import get_lineage
from ..registry.queries import get_model, list_model_versions, list_models
from ..runs import list_runs
from ..runs.detail import get_run, list_experiments
from ..serving import get_inference_service, list_inference_services
from .errors import DOCS, bad_request, not_found

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=10_000, description="at most this many (1 to 10000)")]
Namespace = Annotated[str, Query(description="the models' namespace")]


async def known_parameters(request: Request) -> None:
    """FastAPI ignores query parameters it does not know; a misspelt filter must not list
    everything, so they are refused."""
    route = request.scope.get("route")
    allowed = (
        {p.alias for p in route.dependant.query_params} if isinstance(route, APIRoute) else set()
    )
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise bad_request(
            f"unknown query parameter {names} on {request.url.path}: it takes "
            f"{', '.join(sorted(allowed)) or 'none'} (see {DOCS})"
        )


def router(engine: Engine) -> APIRouter:
    """The ``/api/v1`` routes, reading through ``engine``."""
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    async def answer(fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with Session(engine) as session:
                return fn(session)

        return await run_in_threadpool(run)

    @api.get("/runs", response_model=RunList, tags=["runs"])
    async def runs(
        state: Annotated[str, Query(description="PENDING, RUNNING, SUCCEEDED, FAILED, ...")] = "",
        pipeline: Annotated[str, Query(description="the pipeline's name")] = "",
        experiment: Annotated[str, Query(description="the experiment's name")] = "",
        label: Annotated[
            list[str], Query(description="KEY=VALUE; repeat for runs with all of them")
        ] = [],  # noqa: B006 (FastAPI copies defaults)
        created_after: Annotated[
            datetime | None, Query(description="ISO 8601; created at or after")
        ] = None,
        created_before: Annotated[datetime | None, Query(description="ISO 8601")] = None,
        sort: Annotated[str, Query(description="created, finished or duration")] = "created",
        asc: Annotated[bool, Query(description="oldest/shortest first")] = False,
        limit: Limit = 50,
        page_token: Annotated[str, Query(description="next_page_token of the last page")] = "",
    ) -> RunList:
        query = ListRuns(
            state=state,
            pipeline=pipeline,
            experiment=experiment,
            labels=labels(label),
            created_after=created_after,
            created_before=created_before,
            sort=sort,
            ascending=asc,
            limit=limit,
            page_token=page_token,
        )
        found = await answer(lambda s: list_runs(s, query))
        if found.error:
            raise bad_request(found.error)
        return found

    @api.get("/runs/{run_id}", response_model=RunView, tags=["runs"])
    async def run(run_id: Annotated[str, Path(description="the run's id")]) -> RunView:
        found = await answer(lambda s: get_run(s, run_id))
        if found is None:
            raise not_found(
                f"no run {run_id!r} is known to the metadata service: check the id "
                "(GET /api/v1/runs lists the runs)"
            )
        return found

    @api.get("/experiments", response_model=RunExperimentList, tags=["runs"])
    async def experiments(limit: Limit = 100) -> RunExperimentList:
        return await answer(lambda s: list_experiments(s, limit=limit))

    @api.get("/artifacts", response_model=ArtifactList, tags=["artifacts"])
    async def artifacts(
        run_id: Annotated[str, Query(description="only this run's artifacts")] = "",
        limit: Limit = 100,
    ) -> ArtifactList:
        query = ListArtifacts(run_id=run_id, limit=limit)
        return await answer(lambda s: list_artifacts(s, query))

    @api.get("/lineage", response_model=LineageGraph, tags=["lineage"])
    async def lineage(
        target: Annotated[str, Query(min_length=1, description="an artifact URI, RUN or RUN/STEP")],
        direction: Literal["upstream", "downstream", "both"] = "both",
        hops: Annotated[int, Query(ge=1, le=100, description="edges to follow")] = 5,
        artifact_type: Annotated[
            list[str], Query(description="keep only artifacts of this type (repeatable)")
        ] = [],  # noqa: B006
        execution_type: Annotated[
            list[str], Query(description="keep only executions of this type (repeatable)")
        ] = [],  # noqa: B006
    ) -> LineageGraph:
        uri, run_id, step_id = "", "", ""
        if "://" in target:
            uri = target
        else:
            run_id, _, step_id = target.partition("/")
            if not run_id:
                raise bad_request(
                    f"target {target!r} names no run: pass an artifact URI, RUN or RUN/STEP"
                )
        query = GetLineage(
            uri=uri,
            run_id=run_id,
            step_id=step_id,
            direction=direction,
            hops=hops,
            artifact_types=artifact_type,
            execution_types=execution_type,
        )
        graph = await answer(lambda s: get_lineage(s, query))
        if graph.error:
            raise not_found(graph.error)
        return graph

    @api.get("/models", response_model=ModelList, tags=["models"])
    async def models(namespace: Namespace = DEFAULT_NAMESPACE, limit: Limit = 100) -> ModelList:
        query = ListModels(namespace=namespace, limit=limit)
        return await answer(lambda s: list_models(s, query))

    @api.get("/models/{name}", response_model=RegisteredModelView, tags=["models"])
    async def model(
        name: Annotated[str, Path(description="the registered model's name")],
        namespace: Namespace = DEFAULT_NAMESPACE,
    ) -> RegisteredModelView:
        query = GetModel(name=name, namespace=namespace)
        found = (await answer(lambda s: get_model(s, query))).model
        if found is None:
            raise not_found(_no_model(name, namespace))
        return found

    @api.get("/models/{name}/versions", response_model=ModelVersionList, tags=["models"])
    async def versions(
        name: Annotated[str, Path(description="the registered model's name")],
        namespace: Namespace = DEFAULT_NAMESPACE,
        state: Annotated[str, Query(description="LIVE or ARCHIVED; both when left out")] = "",
        limit: Limit = 100,
    ) -> ModelVersionList:
        if state and state.upper() not in ("LIVE", "ARCHIVED"):
            raise bad_request(f"state {state!r} is not a version state: pass LIVE or ARCHIVED")
        query = ListModelVersions(name=name, namespace=namespace, state=state, limit=limit)
        found = await answer(lambda s: list_model_versions(s, query))
        if not found.found:
            raise not_found(_no_model(name, namespace))
        return found

    @api.get("/inferenceservices", response_model=InferenceServiceList, tags=["serving"])
    async def inference_services(
        namespace: Annotated[str, Query(description="the services' namespace; '' for all")] = (
            DEFAULT_NAMESPACE
        ),
    ) -> InferenceServiceList:
        found = await answer(lambda s: list_inference_services(s, namespace))
        return InferenceServiceList(services=found)

    @api.get("/inferenceservices/{name}", response_model=InferenceServiceView, tags=["serving"])
    async def inference_service(
        name: Annotated[str, Path(description="the InferenceService's name")],
        namespace: Annotated[str, Query(description="the service's namespace")] = (
            DEFAULT_NAMESPACE
        ),
    ) -> InferenceServiceView:
        found = await answer(lambda s: get_inference_service(s, name, namespace))
        if found is None:
            raise not_found(
                f"no InferenceService {name!r} in namespace {namespace!r}: check the name "
                "(GET /api/v1/inferenceservices lists them)"
            )
        return found

    return api


def labels(given: list[str]) -> dict[str, str]:
    """``label`` parameters (``KEY=VALUE``) as the filter ``ListRuns`` takes."""
    found: dict[str, str] = {}
    for text in given:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise bad_request(
                f"label {text!r} is not KEY=VALUE: pass label=KEY=VALUE, e.g. label=team=vision"
            )
        found[key.strip()] = value
    return found


def _no_model(name: str, namespace: str) -> str:
    return (
        f"no model {name!r} is registered in namespace {namespace!r}: check the name "
        "(GET /api/v1/models lists them)"
    )
