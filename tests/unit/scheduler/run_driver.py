"""Drives the pure RunMachine like a launcher would, for the scheduler unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AuditedMachine:
    """The RunMachine, checking after every call that the run recorded as changed every node
    the call changed (the store saves only those), and keeping what each call changed."""

    def __init__(self, machine: Any) -> None:
        self._machine = machine
        self.changes: list[set[str]] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._machine, name)
        if name.startswith("_") or not callable(found):
            return found

        def audited(*args: Any, **kwargs: Any) -> Any:
            run = self._machine.run
            run.take_changes()
            before = {k: n.model_dump_json() for k, n in run.nodes.items()}
            result = found(*args, **kwargs)
            after = {k: n.model_dump_json() for k, n in run.nodes.items()}
            changed = {k for k, dump in after.items() if before.get(k) != dump}
            recorded = run.take_changes()
            assert changed <= recorded, f"{name} changed {sorted(changed - recorded)} unrecorded"
            self.changes.append(recorded)
            return result

        return audited


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
        self.machine: Any = AuditedMachine(RunMachine(self.run, self.plan, self.now))
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
