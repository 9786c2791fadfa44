"""The dashboard's run actions: submit a pipeline, cancel a run, run one again.

A submission is checked here as ``headrace.Client.submit`` checks it (the pipeline loaded
and planned, the arguments bound, by ``headrace_pipelines``), published as ``SubmitRun``,
and answered once the scheduler has taken it up (its ``RunStarted``: 202 with the run id),
or refused with the scheduler's reason (its ``RunRejected``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field, JsonValue
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from headrace_bus import first_answer
from headrace_contracts import (
    CancelRun,
    GetRun,
    RunDetail,
    RunRejected,
    RunStarted,
    RunView,
    SubmitRun,
)
from headrace_contracts.registry import DEFAULT_NAMESPACE
from headrace_contracts.run_views import RUN_FINAL_STATES
from headrace_pipelines import (
    SpecError,
    bind_arguments,
    bind_input_artifacts,
    compile_plan,
    load_pipeline,
)
from headrace_pipelines.run_ids import new_run_id, run_id_problem

from ..runs import submission_of
from .asking import ask, publish_or_503
from .deps import ApiDeps
from .errors import ApiError, bad_request, not_found, refusals
from .routes import known_parameters

TAKEN_UP_SECONDS = 10.0
REFUSED = refusals(
    e400="the pipeline or its parameters are not valid, or the scheduler rejected the run",
    e404="no such run",
    e409="the run cannot take this action now",
    e503="the scheduler does not answer",
)


class SubmitBody(BaseModel):
    """A run to start: ``pipeline`` is kfp's compiled YAML as text, or the PipelineSpec as
    a JSON object."""

    pipeline: str | dict[str, Any] = Field(description="compiled pipeline: YAML text or JSON")
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    name: str = Field(default="", description="display name of the run")
    namespace: str = DEFAULT_NAMESPACE
    experiment: str = Field(default="", description="experiment (Default when empty)")
    labels: dict[str, str] = Field(default_factory=dict)
    enable_caching: bool = True
    run_id: str = Field(default="", description="chosen id; one is made up when empty")


class RunAccepted(BaseModel):
    """A run the scheduler has taken up."""

    run_id: str
    state: str = Field(default="", description="its state when the scheduler took it up")


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.post(
        "/runs", status_code=202, response_model=RunAccepted, tags=["runs"], responses=REFUSED
    )
    async def submit(body: SubmitBody) -> RunAccepted:
        """Start a run of ``pipeline`` with ``parameters``."""
        if body.namespace != DEFAULT_NAMESPACE:
            raise bad_request(
                f"namespace {body.namespace!r}: runs are all in namespace "
                f"{DEFAULT_NAMESPACE!r} for now; leave it out"
            )
        message = await run_in_threadpool(checked_submission, body)
        return await submitted(deps, message)

    @api.post(
        "/runs/{run_id}/cancel",
        status_code=202,
        response_model=RunAccepted,
        tags=["runs"],
        responses=REFUSED,
    )
    async def cancel(run_id: Annotated[str, Path(description="the run's id")]) -> RunAccepted:
        """Ask the scheduler to cancel a run that has not ended."""
        bus = deps.need_bus()
        run = await scheduler_run(deps, run_id)
        if run.state in RUN_FINAL_STATES:
            raise ApiError(
                409, f"run {run_id!r} has ended ({run.state}): there is nothing to cancel"
            )
        await publish_or_503(bus, CancelRun(run_id=run_id, reason="cancelled from the dashboard"))
        return RunAccepted(run_id=run_id, state=run.state)

    @api.post(
        "/runs/{run_id}/rerun",
        status_code=202,
        response_model=RunAccepted,
        tags=["runs"],
        responses=REFUSED,
    )
    async def rerun(run_id: Annotated[str, Path(description="the run's id")]) -> RunAccepted:
        """Start a new run of the same pipeline with the same parameters, experiment and
        labels; the new run's id comes back."""
        deps.need_bus()

        def read() -> tuple[dict[str, Any], dict[str, Any]] | None:
            with Session(deps.engine) as session:
                return submission_of(session, run_id)

        found = await run_in_threadpool(read)
        if found is None:
            await scheduler_run(deps, run_id)  # 404 when the run is unknown
            raise ApiError(
                409,
                f"run {run_id!r} was submitted before the metadata service kept pipelines: "
                "submit its pipeline again (POST /api/v1/runs)",
            )
        packed, request = found
        spec, platform = load_pipeline(packed)
        plan = compile_plan(spec, platform)
        message = SubmitRun(
            run_id=new_run_id(plan.name),
            pipeline_spec=spec,
            platform_spec=platform,
            arguments=request.get("arguments", {}),
            display_name=request.get("display_name", ""),
            experiment=request.get("experiment", "Default"),
            enable_caching=request.get("enable_caching", True),
            allow_host_containers=request.get("allow_host_containers", False),
            labels={**request.get("labels", {}), "headrace.rerun-of": run_id},
        )
        return await submitted(deps, message)

    return api


def checked_submission(body: SubmitBody) -> SubmitRun:
    """The ``SubmitRun`` of ``body``, or 400 naming what is wrong with it."""
    source = body.pipeline
    if isinstance(source, str) and "\n" not in source.strip():
        raise bad_request(
            "pipeline must be the compiled pipeline's YAML text or its JSON object, not a "
            "file name: send the file's content"
        )
    if body.run_id and (problem := run_id_problem(body.run_id)):
        raise bad_request(problem)
    try:
        spec, platform = load_pipeline(source)
        plan = compile_plan(spec, platform)
        bound = bind_arguments(plan, dict(body.parameters))
        bind_input_artifacts(plan, dict(body.parameters))
    except SpecError as exc:
        raise bad_request(f"the pipeline cannot run: {exc}") from None
    return SubmitRun(
        run_id=body.run_id or new_run_id(plan.name),
        pipeline_spec=spec,
        platform_spec=platform,
        arguments={name: bound.get(name, value) for name, value in body.parameters.items()},
        display_name=body.name,
        experiment=body.experiment or "Default",
        enable_caching=body.enable_caching,
        labels=body.labels,
    )


async def scheduler_run(deps: ApiDeps, run_id: str) -> RunView:
    """The run as the scheduler knows it (without steps); 404 when it knows none."""
    bus = deps.need_bus()
    reply = await ask(
        bus, GetRun(run_id=run_id, steps=False), RunDetail, "scheduler", timeout=deps.ask_timeout
    )
    if reply.run is None:
        raise not_found(
            f"no run {run_id!r} is known to the scheduler: check the id "
            "(GET /api/v1/runs lists the runs)"
        )
    return reply.run


async def submitted(deps: ApiDeps, message: SubmitRun) -> RunAccepted:
    """Publish ``message`` and wait until the scheduler has taken it up."""
    bus = deps.need_bus()
    query = GetRun(run_id=message.run_id, steps=False)
    before = await ask(bus, query, RunDetail, "scheduler", timeout=deps.ask_timeout)
    if before.run is not None:
        raise ApiError(
            409,
            f"run {message.run_id!r} exists already ({before.run.state}): choose another "
            "run_id or leave it out",
        )
    # Taken up: the scheduler's RunStarted, or RunRejected with its reason.
    try:
        answer = await first_answer(
            bus,
            lambda: publish_or_503(bus, message),
            (RunStarted, RunRejected),
            field="run_id",
            value=message.run_id,
            timeout=TAKEN_UP_SECONDS,
        )
    except TimeoutError:
        return await taken_up_after_all(deps, query)
    if isinstance(answer, RunRejected):
        raise bad_request(f"the scheduler rejected the run: {answer.reason or 'no reason'}")
    return RunAccepted(run_id=message.run_id, state="RUNNING")


async def taken_up_after_all(deps: ApiDeps, query: GetRun) -> RunAccepted:
    """No answer came in time (or it was lost with a dropped connection): the scheduler
    says whether it has the run."""
    reply = await ask(deps.need_bus(), query, RunDetail, "scheduler", timeout=deps.ask_timeout)
    if reply.run is None:
        raise ApiError(
            503,
            f"run {query.run_id!r} was sent, but the scheduler did not take it up within "
            f"{TAKEN_UP_SECONDS:g}s: it may be busy; look for it later "
            f"(GET /api/v1/runs/{query.run_id})",
        )
    if reply.run.state == "REJECTED":
        raise bad_request(f"the scheduler rejected the run: {reply.run.error or 'no reason'}")
    return RunAccepted(run_id=query.run_id, state=reply.run.state)
