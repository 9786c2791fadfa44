"""A whole pipeline platform in-process: real nats-server, scheduler, trainer and metadata.

Tests compile pipelines with the real kfp SDK, submit them as any client would (a SubmitRun
command on the bus) and read the run back through the scheduler's GetRun query.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import yaml
from kfp import compiler

from headrace_bus import Bus
from headrace_contracts import CancelRun, GetRun, RunDetail, RunView, StepView, SubmitRun
from headrace_runtime import Service

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED", "REJECTED")


def compile_pipeline(pipeline: Any, folder: Path) -> dict[str, Any]:
    path = folder / f"{pipeline.name}-{uuid.uuid4().hex[:6]}.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


class Platform:
    def __init__(self, bus: Bus, folder: Path, services: list[Service]) -> None:
        self.bus = bus
        self.folder = folder
        self.services = services

    async def submit(
        self,
        pipeline: Any,
        arguments: dict[str, Any] | None = None,
        *,
        run_id: str = "",
        **options: Any,
    ) -> str:
        spec = pipeline if isinstance(pipeline, dict) else compile_pipeline(pipeline, self.folder)
        run_id = run_id or f"run-{uuid.uuid4().hex[:10]}"
        await self.bus.publish(
            SubmitRun(run_id=run_id, pipeline_spec=spec, arguments=arguments or {}, **options)
        )
        return run_id

    async def get(self, run_id: str) -> RunView | None:
        reply = await self.bus.request(GetRun(run_id=run_id), timeout=5)
        assert isinstance(reply, RunDetail)
        return reply.run

    async def wait(
        self, run_id: str, timeout: float = 60.0, states: tuple[str, ...] = FINAL
    ) -> RunView:
        deadline = asyncio.get_running_loop().time() + timeout
        run: RunView | None = None
        while asyncio.get_running_loop().time() < deadline:
            run = await self.get(run_id)
            if run is not None and run.state in states:
                return run
            await asyncio.sleep(0.05)
        raise AssertionError(f"run {run_id} is {run.state if run else 'unknown'} after {timeout}s")

    async def run(
        self, pipeline: Any, arguments: dict[str, Any] | None = None, **options: Any
    ) -> RunView:
        return await self.wait(await self.submit(pipeline, arguments, **options))

    async def wait_step(
        self, run_id: str, step_id: str, state: str, timeout: float = 30.0
    ) -> StepView:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            run = await self.get(run_id)
            found = step(run, step_id) if run else None
            if found is not None and found.state == state:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"step {step_id} of {run_id} never became {state}")

    async def cancel(self, run_id: str) -> None:
        await self.bus.publish(CancelRun(run_id=run_id, reason="test cancelled it"))


def step(run: RunView, step_id: str) -> StepView | None:
    return next((s for s in run.steps if s.step_id == step_id), None)


def states(run: RunView) -> dict[str, str]:
    return {s.step_id: s.state for s in run.steps}
