"""Drives the pure RunMachine like a launcher would, for the scheduler unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Driver:
    """Runs a plan through the pure RunMachine, answering each launched step like a launcher.

    ``behave(node)`` returns ``("ok", parameters, artifacts)``, ``("fail", reason)`` or
    ``("hold",)`` (the step keeps running until the test finishes it by hand).
    """

    def __init__(self, spec: dict[str, Any], arguments: dict[str, Any] | None = None) -> None:
        from datetime import UTC, datetime

        from headrace_pipelines import bind_arguments, compile_plan
        from headrace_scheduler.machine import RunMachine
        from headrace_scheduler.state import RunState

        self.plan = compile_plan(spec)
        self.run = RunState(run_id="run-1", arguments=bind_arguments(self.plan, arguments or {}))
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.machine = RunMachine(self.run, self.plan, self.now)
        self.launched: list[tuple[str, int, dict[str, Any]]] = []
        self.held: list[str] = []
        self.effects: list[Any] = []

    def node(self, node_id: str) -> Any:
        return self.run.nodes[node_id]

    def start(self, behave: Callable[[Any], tuple[Any, ...]]) -> Driver:
        self.feed(self.machine.start(), behave)
        return self

    def feed(self, effects: list[Any], behave: Callable[[Any], tuple[Any, ...]]) -> None:
        from headrace_scheduler.effects import Launch

        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            self.effects.append(effect)
            if not isinstance(effect, Launch):
                continue
            node = self.run.nodes[effect.node_id]
            self.launched.append((node.id, node.attempt, dict(node.parameters)))
            queue.extend(self.machine.step_started(node.id, node.attempt))
            outcome = behave(node)
            if outcome[0] == "ok":
                queue.extend(
                    self.machine.step_succeeded(node.id, node.attempt, outcome[1], outcome[2])
                )
            elif outcome[0] == "fail":
                queue.extend(
                    self.machine.step_failed(node.id, node.attempt, outcome[1], exit_code=1)
                )
            else:
                self.held.append(node.id)

    def finished(self) -> list[Any]:
        from headrace_scheduler.effects import Finished

        return [e for e in self.effects if isinstance(e, Finished)]
