"""The tuner's experiments and the trainer's training jobs, asked over the bus with the
queries the CLI uses (``headrace experiment ...``, ``headrace job ...``). A service that
does not answer is a 503 naming it and how to start it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from headrace_contracts import (
    ExperimentDetail,
    ExperimentList,
    ExperimentView,
    GetExperiment,
    GetTrainingJob,
    ListExperiments,
    ListTrainingJobs,
    ListTrials,
    TrainingJobDetail,
    TrainingJobList,
    TrainingJobView,
    TrialList,
    TrialView,
)
from headrace_contracts.tuning_views import TRIALS_IN_ONE_REPLY

from .asking import ask
from .deps import ApiDeps
from .errors import bad_request, not_found, refusals
from .routes import known_parameters

NamespaceOrAll = Annotated[str, Query(description="the namespace; '' for every namespace")]
Namespace = Annotated[str, Query(description="the namespace")]
Name = Annotated[str, Path(description="its name")]
TUNER = refusals(e400="a bad query", e404="no such experiment", e503="the tuner does not answer")
TRAINER = refusals(e400="a bad query", e404="no such job", e503="the trainer does not answer")


class TrialPage(BaseModel):
    """A page of an experiment's trials, in the order they were suggested."""

    trials: list[TrialView] = Field(default_factory=list)
    next_page_token: str = Field(default="", description="pass as page_token; '' on the last")


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.get("/tuning/experiments", response_model=ExperimentList, tags=["tuning"], responses=TUNER)
    async def experiments(
        namespace: NamespaceOrAll = "default",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> ExperimentList:
        query = ListExperiments(namespace=namespace, limit=limit)
        found = await ask(deps.need_bus(), query, ExperimentList, "tuner", timeout=deps.ask_timeout)
        if found.error:
            raise bad_request(found.error)
        return found

    @api.get(
        "/tuning/experiments/{name}",
        response_model=ExperimentView,
        tags=["tuning"],
        responses=TUNER,
    )
    async def experiment(name: Name, namespace: Namespace = "default") -> ExperimentView:
        """The experiment with its spec, counts and best trial, without its trials (page
        them with ``/trials``)."""
        query = GetExperiment(name=name, namespace=namespace, trials=False)
        found = await ask(
            deps.need_bus(), query, ExperimentDetail, "tuner", timeout=deps.ask_timeout
        )
        if found.error:
            raise bad_request(found.error)
        if found.experiment is None:
            raise not_found(_no_experiment(name, namespace))
        return found.experiment

    @api.get(
        "/tuning/experiments/{name}/trials",
        response_model=TrialPage,
        tags=["tuning"],
        responses=TUNER,
    )
    async def trials(
        name: Name,
        namespace: Namespace = "default",
        page_token: Annotated[str, Query(description="next_page_token of the last page")] = "",
        limit: Annotated[int, Query(ge=1, le=TRIALS_IN_ONE_REPLY)] = 100,
    ) -> Response:
        # Written as the tuner gave it: validating 1,000 trials again on their way out (as
        # returning the model would) was a third of the request's time (bench/dashboard.py).
        after = _after(page_token)
        query = ListTrials(name=name, namespace=namespace, after=after, limit=limit)
        bus = deps.need_bus()
        found = await ask(bus, query, TrialList, "tuner", timeout=deps.ask_timeout)
        if found.error:
            known = await ask(
                bus,
                GetExperiment(name=name, namespace=namespace, trials=False),
                ExperimentDetail,
                "tuner",
                timeout=deps.ask_timeout,
            )
            if known.experiment is None and not known.error:
                raise not_found(_no_experiment(name, namespace))
            raise bad_request(found.error)
        token = str(found.trials[-1].number) if found.more and found.trials else ""
        page = TrialPage(trials=found.trials, next_page_token=token)
        return Response(page.model_dump_json(), media_type="application/json")

    @api.get("/jobs", response_model=TrainingJobList, tags=["training"], responses=TRAINER)
    async def jobs(
        namespace: NamespaceOrAll = "default",
        state: Annotated[str, Query(description="only jobs in this state")] = "",
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> TrainingJobList:
        query = ListTrainingJobs(namespace=namespace, state=state.upper(), limit=limit)
        found = await ask(
            deps.need_bus(), query, TrainingJobList, "trainer", timeout=deps.ask_timeout
        )
        if found.error:
            raise bad_request(found.error)
        return found

    @api.get("/jobs/{name}", response_model=TrainingJobView, tags=["training"], responses=TRAINER)
    async def job(name: Name, namespace: Namespace = "default") -> TrainingJobView:
        return await find_job(deps, name, namespace)

    return api


async def find_job(deps: ApiDeps, name: str, namespace: str) -> TrainingJobView:
    """The trainer's view of the job with its replicas; 404 when it has none such."""
    query = GetTrainingJob(name=name, namespace=namespace)
    found = await ask(
        deps.need_bus(), query, TrainingJobDetail, "trainer", timeout=deps.ask_timeout
    )
    if found.error:
        raise bad_request(found.error)
    if found.job is None:
        raise not_found(
            f"no training job {name!r} in namespace {namespace!r}: check the name "
            "(GET /api/v1/jobs lists them)"
        )
    return found.job


def _after(page_token: str) -> int:
    if not page_token:
        return -1
    if not page_token.isdigit():
        raise bad_request(
            f"page_token {page_token!r} is not one this API gave: pass the next_page_token "
            "of the last page, or leave it out for the first"
        )
    return int(page_token)


def _no_experiment(name: str, namespace: str) -> str:
    return (
        f"no experiment {name!r} in namespace {namespace!r}: check the name "
        "(GET /api/v1/tuning/experiments lists them)"
    )
