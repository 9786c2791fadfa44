"""Real pipelines on a running platform: the run read model, filled from the bus alone,
lists them with their state and steps, and agrees with the scheduler's own view."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from kfp import compiler
from runs_pipelines import doubling, exploding
from runs_services import Services
from sqlmodel import Session, select

from headrace_contracts import GetRun, ListRuns, RunDetail, RunList, SubmitRun
from headrace_metadata.runs import StepRow


def compiled(pipeline: Any, services: Services) -> dict[str, Any]:
    path = services.folder / f"{pipeline.name}.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


async def listing(services: Services, **query: Any) -> RunList:
    reply = await services.bus.request(ListRuns(**query), timeout=5)
    assert isinstance(reply, RunList)
    assert reply.error == ""
    return reply


async def listed(services: Services, total: int, **query: Any) -> RunList:
    """The listing once it holds ``total`` runs (the service consumes in its own time)."""
    deadline = asyncio.get_running_loop().time() + 60
    while (found := await listing(services, **query)).total != total:
        assert asyncio.get_running_loop().time() < deadline, f"listed {found}"
        await asyncio.sleep(0.05)
    return found


async def test_real_runs_are_listed_with_their_state_and_steps(services: Services) -> None:
    submits = [
        SubmitRun(
            run_id="ok-1",
            pipeline_spec=compiled(doubling, services),
            arguments={"x": 3},
            experiment="exp",
            labels={"team": "a"},
        ),
        SubmitRun(
            run_id="bad-1",
            pipeline_spec=compiled(exploding, services),
            arguments={"x": 1},
            enable_caching=False,
            labels={"team": "b"},
        ),
        SubmitRun(run_id="no-args", pipeline_spec=compiled(doubling, services)),
    ]
    for submit in submits:
        await services.bus.publish(submit)

    assert (await listed(services, 3)).total == 3
    (ok,) = (await listed(services, 1, state="SUCCEEDED")).runs
    assert (ok.run_id, ok.pipeline_name, ok.experiment, ok.labels) == (
        "ok-1",
        "doubling",
        "exp",
        {"team": "a"},
    )
    assert (ok.output_parameters, ok.step_count, ok.step_states) == (
        {"Output": 12},
        2,
        {"SUCCEEDED": 2},
    )
    (bad,) = (await listed(services, 1, state="FAILED")).runs
    assert bad.run_id == "bad-1"
    assert bad.step_states == {"SUCCEEDED": 1, "FAILED": 1}
    assert "explode" in bad.error
    (rejected,) = (await listed(services, 1, state="REJECTED")).runs
    assert "parameter 'x': is required" in rejected.error
    assert rejected.pipeline_name == ""
    assert [r.run_id for r in (await listing(services, labels={"team": "b"})).runs] == ["bad-1"]
    assert [r.run_id for r in (await listing(services, pipeline="doubling")).runs] == ["ok-1"]

    for run_id in ("ok-1", "bad-1"):
        detail = await services.bus.request(GetRun(run_id=run_id), timeout=5)
        assert isinstance(detail, RunDetail)
        assert detail.run is not None
        scheduler = {
            s.step_id: (s.state, s.attempts, s.exit_code)
            for s in detail.run.steps
            if s.kind == "container"
        }
        assert services.metadata.engine is not None
        with Session(services.metadata.engine) as session:
            rows = session.exec(select(StepRow).where(StepRow.run_id == run_id)).all()
            read_model = {r.step_id: (r.state, r.attempts, r.exit_code) for r in rows}
        assert read_model == scheduler
