"""Helpers of the trainer integration tests (a module of its own, imported by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from kfp import compiler
from nats.aio.msg import Msg

from headrace_artifacts import ArtifactStore
from headrace_bus import Bus
from headrace_contracts import ArtifactRef, Message, StepReady, decode
from headrace_testing import wait_for

M = TypeVar("M", bound=Message)


def compile_component(component: Any, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path = folder / f"{component.name}.yaml"
    compiler.Compiler().compile(component, str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    (definition,) = spec["components"].values()
    return executor["container"], definition


def step_ready(
    component: Any,
    store: ArtifactStore,
    folder: Path,
    *,
    run_id: str = "run-1",
    step_id: str = "",
    parameters: dict[str, Any] | None = None,
    artifacts: dict[str, list[ArtifactRef]] | None = None,
    **fields: Any,
) -> StepReady:
    """A StepReady as the scheduler publishes it for ``component``."""
    container, definition = compile_component(component, folder)
    step_id = step_id or f"root/{component.name}"
    outputs = definition.get("outputDefinitions", {})
    base = f"runs/{run_id}/{step_id.replace('[', '_').replace(']', '_')}"
    return StepReady(
        run_id=run_id,
        step_id=step_id,
        task_name=component.name,
        executor=container,
        component=definition,
        inputs={"parameters": parameters or {}, "artifacts": artifacts or {}},
        outputs={
            "parameters": {
                name: spec["parameterType"] for name, spec in outputs.get("parameters", {}).items()
            },
            "artifacts": {
                name: ArtifactRef(
                    uri=store.uri_for(f"{base}/{name}"),
                    name=name,
                    schema_title=spec["artifactType"]["schemaTitle"],
                )
                for name, spec in outputs.get("artifacts", {}).items()
            },
        },
        **fields,
    )


class Recorder:
    """Every Headrace event published on the bus, decoded, in arrival order."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.events: list[Message] = []

    async def start(self) -> None:
        async def received(msg: Msg) -> None:
            envelope = decode(msg.headers, msg.data, self.bus.catalogue, subject=msg.subject)
            self.events.append(envelope.message)

        await self.bus.connection.subscribe("headrace.>", cb=received)

    def of(self, kind: type[M], step_id: str | None = None) -> list[M]:
        return [
            event
            for event in self.events
            if isinstance(event, kind)
            and (step_id is None or getattr(event, "step_id", None) == step_id)
        ]

    async def first(self, kind: type[M], step_id: str | None = None, timeout: float = 15) -> M:
        await wait_for(lambda: bool(self.of(kind, step_id)), timeout, f"{kind.__name__}")
        return self.of(kind, step_id)[0]
