"""The run state machine: pure code, explicit transitions, no broker and no database.

Every method takes what happened (a step started, succeeded, failed, was cancelled, or the
user cancelled the run), changes the :class:`RunState` and returns the effects the world must
see (launch these steps, stop those, the run finished). The scheduler's handlers load the
state, call one method, save the state and publish the effects in one transaction.

Semantics follow KFP v2 on Argo:

* A task starts when every upstream task (``dependentTasks`` and every producer it reads) is
  finished. With the default strategy it needs them all to have succeeded (or been skipped
  by a false condition); with ``ALL_UPSTREAM_TASKS_COMPLETED`` (``ignore_upstream_failure``,
  exit handlers) it runs whatever happened.
* A task's condition (CEL, see docs/kfp-semantics.md) is evaluated on its resolved inputs
  when it is about to start: false skips it; one that cannot be evaluated (division by
  zero, a parameter without value) fails the task like a failed step, naming the expression.
* Fail fast, like Argo DAGs: after a step fails (retries used up) no new step starts, except
  the ones that run whatever happened (exit handlers); running steps finish.
* Cancelling stops running steps (CancelStep), cancels everything not started, and still runs
  exit handlers, which see the CANCELLED status.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from headrace_pipelines import ROOT, Plan, TaskPlan, cel

from . import retry
from .effects import Effect, Finished, Launch, Skipped, Stop
from .inputs import (
    InputError,
    check_artifacts,
    converted,
    missing_reason,
    resolve,
    typed_parameters,
)
from .state import ACTIVE, Node, RunState, child_id, iteration_id

ROOT_ID = ""
COMPLETED = "ALL_UPSTREAM_TASKS_COMPLETED"


class RunMachine:
    def __init__(self, run: RunState, plan: Plan, now: datetime) -> None:
        self.run = run
        self.plan = plan
        self.now = now
        self._effects: list[Effect] = []
        self._dirty: list[str] = []

    # what can happen -------------------------------------------------------------------

    def start(self) -> list[Effect]:
        """Begin the run: the root DAG's inputs are the bound pipeline arguments."""
        if self.run.nodes:
            return []
        self.run.state = "RUNNING"
        root = Node(
            id=ROOT_ID,
            task=self.plan.name,
            kind="dag",
            scope=ROOT_ID,
            component=ROOT,
            state="RUNNING",
            parameters=dict(self.run.arguments),
            artifacts={k: list(v) for k, v in self.run.input_artifacts.items()},
            started_at=self._stamp(),
        )
        self.run.add_node(root)
        self._enter(root)
        return self._settle()

    def step_started(self, node_id: str, attempt: int, worker: str = "") -> list[Effect]:
        node = self._step(node_id)
        if node is None or attempt != node.attempt:
            return []
        node.worker = worker or node.worker
        if node.state == "READY":
            node.state = "RUNNING"
            node.started_at = node.started_at or self._stamp()
        elif node.state == "CANCELLED" or node.stopping:
            # Started after we asked it not to: ask again, now that it has a process.
            self._effects.append(Stop(node.id, self.run.cancel_reason or "run cancelled"))
        return self._settle()

    def step_succeeded(
        self,
        node_id: str,
        attempt: int,
        parameters: dict[str, Any],
        artifacts: dict[str, list[dict[str, Any]]],
        *,
        log_uri: str = "",
        duration: float | None = None,
        worker: str = "",
    ) -> list[Effect]:
        node = self._step(node_id)
        if node is None or attempt != node.attempt or node.state not in ACTIVE:
            return []
        node.worker = worker or node.worker
        node.out_parameters = dict(parameters)
        node.out_artifacts = {k: list(v) for k, v in artifacts.items()}
        node.log_uri = log_uri or node.log_uri
        node.duration = duration
        self._finish(node, "SUCCEEDED")
        return self._settle()

    def step_cached(
        self,
        node_id: str,
        parameters: dict[str, Any],
        artifacts: dict[str, list[dict[str, Any]]],
        *,
        source: str,
    ) -> list[Effect]:
        node = self._step(node_id)
        if node is None or node.state != "READY":
            return []
        node.out_parameters = dict(parameters)
        node.out_artifacts = {k: list(v) for k, v in artifacts.items()}
        node.cached = True
        node.cache_source = source
        self._finish(node, "CACHED", reason=f"reused the outputs of {source}")
        return self._settle()

    def step_failed(
        self,
        node_id: str,
        attempt: int,
        reason: str,
        *,
        exit_code: int | None = None,
        log_uri: str = "",
        worker: str = "",
    ) -> list[Effect]:
        node = self._step(node_id)
        if node is None or attempt != node.attempt or node.state not in ACTIVE:
            return []
        node.worker = worker or node.worker
        node.exit_code = exit_code
        node.log_uri = log_uri or node.log_uri
        policy = self._task(node).retry
        if node.attempt < retry.max_attempts(policy) and not node.stopping:
            delay = retry.backoff(policy, node.attempt)
            node.attempt += 1
            node.state = "READY"
            node.reason = f"attempt {node.attempt - 1} failed: {reason}"
            node.not_before = (self.now + timedelta(seconds=delay)).isoformat() if delay else ""
            self._effects.append(Launch(node.id))
            return self._settle()
        self._fail(node, reason)
        return self._settle()

    def step_cancelled(self, node_id: str, attempt: int, reason: str) -> list[Effect]:
        node = self._step(node_id)
        if node is None or node.terminal or (attempt and attempt != node.attempt):
            return []
        self._finish(node, "CANCELLED", reason=reason or "cancelled")
        return self._settle()

    def cancel(self, reason: str) -> list[Effect]:
        """Stop the run: cancel what has not started, stop what runs, keep exit handlers."""
        if self.run.finished or self.run.cancelling:
            return []
        self.run.cancelling = True
        self.run.cancel_reason = reason
        self.run.state = "CANCELLING"
        for node in list(self.run.nodes.values()):
            if node.kind not in ("container", "importer"):
                continue
            if node.state == "READY":
                self._finish(node, "CANCELLED", reason=reason)
                self._effects.append(Stop(node.id, reason))
            elif node.state == "RUNNING":
                node.stopping = True
                self._effects.append(Stop(node.id, reason))
        for node in list(self.run.nodes.values()):
            if node.state == "PENDING" and not self._runs_whatever_happens(node):
                self._finish(node, "CANCELLED", reason=reason)
        return self._settle()

    # the DAG ---------------------------------------------------------------------------

    def _settle(self) -> list[Effect]:
        while self._dirty:
            scope_id = self._dirty.pop(0)
            scope = self.run.nodes.get(scope_id)
            if scope is None or scope.terminal:
                continue
            if scope.kind == "loop":
                self._advance_loop(scope)
            else:
                self._advance(scope)
        effects, self._effects = self._effects, []
        return effects

    def _enter(self, scope: Node) -> None:
        """Create the child nodes of a DAG or loop iteration and start what can start."""
        for task in self.plan.tasks[scope.component].values():
            node_id = child_id(scope.id, task.name)
            kind = "loop" if task.iterator else task.kind
            self.run.add_node(
                Node(
                    id=node_id,
                    task=task.name,
                    kind=kind,
                    scope=scope.id,
                    component=task.component_name,
                )
            )
            scope.children.append(node_id)
        self.run.touch(scope.id)
        self._dirty.append(scope.id)

    def _advance(self, scope: Node) -> None:
        progressed = True
        while progressed:
            progressed = False
            for node_id in scope.children:
                node = self.run.nodes[node_id]
                if node.state == "PENDING" and self._upstream_done(node):
                    self._trigger(node, scope)
                    progressed = True
        children = [self.run.nodes[c] for c in scope.children]
        if all(c.terminal for c in children):
            self._complete_dag(scope, children)

    def _upstream_done(self, node: Node) -> bool:
        return all(
            self.run.nodes[child_id(node.scope, dep)].terminal for dep in self._task(node).upstream
        )

    def _trigger(self, node: Node, scope: Node) -> None:
        task = self._task(node)
        upstream = [self.run.nodes[child_id(node.scope, d)] for d in sorted(task.upstream)]
        whatever = task.strategy == COMPLETED
        if self.run.cancelling and not self._runs_whatever_happens(node):
            self._finish(node, "CANCELLED", reason=self.run.cancel_reason)
            return
        if not whatever:
            failed = [u for u in upstream if u.failure]
            if failed:
                self._skip(node, f"upstream step {failed[0].id!r} did not succeed", failure=True)
                return
            if self.run.failing:
                self._skip(
                    node,
                    f"not started: the run is failing ({self.run.failed_steps[0]!r} failed)",
                    failure=True,
                )
                return
        try:
            parameters, artifacts = resolve(self.run, self.plan, task, scope)
        except InputError as exc:
            self._fail(node, str(exc))
            return
        if task.condition is not None:
            holds = self._condition(node, task, task.condition, parameters, artifacts)
            if isinstance(holds, str):
                self._fail(node, holds)
                return
            if not holds:
                self._skip(node, "condition is false", failure=False)
                return
        node.started_at = self._stamp()
        if node.kind == "container":
            try:
                node.parameters = typed_parameters(self.plan, task, node, parameters)
                check_artifacts(self.plan, task, artifacts)
            except InputError as exc:
                self._fail(node, str(exc))
                return
            node.artifacts = artifacts
            node.state = "READY"
            node.attempt = 1
            self._effects.append(Launch(node.id))
        elif node.kind == "importer":
            node.parameters = parameters
            self._import(node, task)
        elif node.kind == "loop":
            node.parameters, node.artifacts = parameters, artifacts
            self._start_loop(node, task)
        else:
            node.parameters, node.artifacts = parameters, artifacts
            node.state = "RUNNING"
            self._enter(node)

    def _condition(
        self,
        node: Node,
        task: TaskPlan,
        condition: cel.Condition,
        parameters: dict[str, Any],
        artifacts: dict[str, list[dict[str, Any]]],
    ) -> bool | str:
        """Whether ``condition`` holds for the task's inputs, or why it cannot tell.

        KFP's driver evaluates a condition on the inputs as the task's component declares
        them, so a value reaching a ``str`` input is compared as its text.
        """
        try:
            inputs = converted(self.plan, task.component_name, node, parameters)
            return cel.condition_holds(condition, inputs, artifacts)
        except InputError as exc:
            return f"condition {condition.text!r} cannot read its inputs: {exc}"
        except cel.EvaluationError as exc:
            missing = sorted(condition.reads - set(parameters))
            if missing:
                return (
                    f"condition {condition.text!r} reads parameter {missing[0]!r}, which has no "
                    f"value: {missing_reason(task, missing[0])}"
                )
            return f"condition {condition.text!r} could not be evaluated: {exc}"

    def _import(self, node: Node, task: TaskPlan) -> None:
        importer = self.plan.executor(task.component_name)["importer"]
        uri_source = importer.get("artifactUri") or {}
        if "constant" in uri_source:
            uri = uri_source["constant"]
        else:
            uri = node.parameters.get(uri_source.get("runtimeParameter", ""), "")
        if not isinstance(uri, str) or not uri:
            self._fail(node, "importer has no artifact URI: set artifact_uri")
            return
        schema = importer.get("typeSchema") or {}
        outputs = self.plan.artifact_outputs(task.component_name)
        name = next(iter(outputs), "artifact")
        node.out_artifacts = {
            name: [
                {
                    "uri": uri,
                    "name": name,
                    "schema_title": schema.get("schemaTitle", "system.Artifact"),
                    "schema_version": schema.get("schemaVersion", "0.0.1"),
                    "metadata": importer.get("metadata") or {},
                }
            ]
        }
        self._finish(node, "SUCCEEDED")

    def _start_loop(self, node: Node, task: TaskPlan) -> None:
        iterator = task.iterator or {}
        items_spec = iterator.get("items") or {}
        items: Any
        if "raw" in items_spec:
            items = json.loads(items_spec["raw"])
        elif "inputParameter" in items_spec:
            items = node.parameters.get(items_spec["inputParameter"])
            if isinstance(items, str):
                try:
                    items = json.loads(items)
                except json.JSONDecodeError:
                    items = None
        else:
            items = node.artifacts.get(items_spec.get("inputArtifact", ""))
        if not isinstance(items, list):
            self._fail(node, f"loop items are not a list: {items!r}"[:300])
            return
        node.items = items
        node.item_input = iterator.get("itemInput", "")
        node.limit = int((task.spec.get("iteratorPolicy") or {}).get("parallelismLimit") or 0)
        node.state = "RUNNING"
        node.running, node.ended, node.next_start = 0, 0, 0
        for index in range(len(items)):
            iteration = Node(
                id=iteration_id(node.id, index),
                task=f"{node.task}[{index}]",
                kind="iteration",
                scope=node.id,
                component=node.component,
                index=index,
            )
            self.run.add_node(iteration)
            node.children.append(iteration.id)
        self.run.touch(node.id)
        self._dirty.append(node.id)

    def _advance_loop(self, loop: Node) -> None:
        """Start the loop's next iterations (in order, at most ``limit`` at once), or end
        them all when the run is cancelling or failing; complete the loop once all ended.

        The loop's tallies (``running``, ``ended``, ``next_start``) make this cost the same
        whatever the number of iterations; a loop saved without them is counted once."""
        if loop.running is None or loop.ended is None or loop.next_start is None:
            self._tally(loop)
        assert loop.running is not None
        assert loop.ended is not None
        assert loop.next_start is not None
        stopping = self.run.cancelling or self.run.failing
        while loop.next_start < len(loop.children):
            if not stopping and loop.limit and loop.running >= loop.limit:
                break
            iteration = self.run.nodes[loop.children[loop.next_start]]
            loop.next_start += 1
            if iteration.state != "PENDING":
                continue
            if self.run.cancelling:
                self._finish(iteration, "CANCELLED", reason=self.run.cancel_reason)
            elif self.run.failing:
                self._skip(iteration, "not started: the run is failing", failure=True)
            else:
                self._start_iteration(loop, iteration)
        if loop.ended >= len(loop.children) and not loop.terminal:
            self._complete_loop(loop, [self.run.nodes[c] for c in loop.children])

    def _tally(self, loop: Node) -> None:
        iterations = [self.run.nodes[c] for c in loop.children]
        loop.running = sum(1 for it in iterations if it.state == "RUNNING")
        loop.ended = sum(1 for it in iterations if it.terminal)
        pending = [i for i, it in enumerate(iterations) if it.state == "PENDING"]
        loop.next_start = pending[0] if pending else len(iterations)

    def _start_iteration(self, loop: Node, iteration: Node) -> None:
        item = (loop.items or [])[iteration.index or 0]
        iteration.parameters = dict(loop.parameters)
        iteration.artifacts = dict(loop.artifacts)
        if self._task(loop).spec.get("artifactIterator"):
            iteration.artifacts[loop.item_input] = [item]
        else:
            iteration.parameters[loop.item_input] = item
        iteration.state = "RUNNING"
        iteration.started_at = self._stamp()
        loop.running = (loop.running or 0) + 1
        self._enter(iteration)

    def _complete_dag(self, scope: Node, children: list[Node]) -> None:
        outputs = self.plan.dag_outputs(scope.component)
        for key, source in (outputs.get("parameters") or {}).items():
            selectors = (
                [source["valueFromParameter"]]
                if "valueFromParameter" in source
                else (source.get("valueFromOneof") or {}).get("parameterSelectors") or []
            )
            for selector in selectors:
                producer = self.run.nodes[child_id(scope.id, selector["producerSubtask"])]
                if selector["outputParameterKey"] in producer.out_parameters:
                    scope.out_parameters[key] = producer.out_parameters[
                        selector["outputParameterKey"]
                    ]
                    break
        for key, source in (outputs.get("artifacts") or {}).items():
            for selector in source.get("artifactSelectors") or []:
                producer = self.run.nodes[child_id(scope.id, selector["producerSubtask"])]
                found = producer.out_artifacts.get(selector["outputArtifactKey"])
                if found is not None:
                    scope.out_artifacts[key] = found
                    break
        self._finish(scope, self._outcome(children))

    def _complete_loop(self, loop: Node, iterations: list[Node]) -> None:
        outputs = self.plan.dag_outputs(loop.component)
        for key in outputs.get("parameters") or {}:
            loop.out_parameters[key] = [
                it.out_parameters[key] for it in iterations if key in it.out_parameters
            ]
        for key in outputs.get("artifacts") or {}:
            loop.out_artifacts[key] = [
                artifact for it in iterations for artifact in it.out_artifacts.get(key, [])
            ]
        self._finish(loop, self._outcome(iterations))

    @staticmethod
    def _outcome(children: list[Node]) -> str:
        if any(c.failure and c.state != "CANCELLED" for c in children):
            return "FAILED"
        if any(c.state == "CANCELLED" for c in children):
            return "CANCELLED"
        return "SUCCEEDED"

    # transitions -----------------------------------------------------------------------

    def _finish(self, node: Node, state: str, *, reason: str = "") -> None:
        if node.kind == "iteration" and not node.terminal:
            self._iteration_ended(node)
        node.state = state
        node.stopping = False
        if reason:
            node.reason = reason
        node.finished_at = self._stamp()
        if node.kind in ("dag", "loop", "iteration") and state == "FAILED" and not node.reason:
            failed = [c for c in node.children if self.run.nodes[c].state == "FAILED"]
            node.reason = f"{', '.join(repr(c) for c in failed[:3]) or 'a step'} failed"
        if node.id == ROOT_ID:
            self._finish_run(node)
            return
        if node.kind in ("dag", "loop", "iteration") and state in ("CANCELLED", "FAILED"):
            for child in node.children:
                if self.run.nodes[child].state == "PENDING":
                    self._finish(self.run.nodes[child], "CANCELLED", reason="not started")
        self._dirty.append(node.scope)

    def _iteration_ended(self, iteration: Node) -> None:
        loop = self.run.nodes[iteration.scope]
        if loop.running is None or loop.ended is None:
            return  # not counted yet: _advance_loop counts them all
        if iteration.state == "RUNNING":
            loop.running -= 1
        loop.ended += 1

    def _fail(self, node: Node, reason: str) -> None:
        """``node`` failed of itself (not because a child did): the run is failing."""
        node.reason = reason
        self.run.failing = True
        self.run.failed_steps.append(node.id)
        if not self.run.error:
            noun = "step" if node.kind in ("container", "importer") else "task"
            self.run.error = f"{noun} {node.id!r} failed: {reason}"
        self._finish(node, "FAILED")

    def _skip(self, node: Node, reason: str, *, failure: bool) -> None:
        node.upstream_failed = failure
        self._effects.append(Skipped(node.id, reason))
        self._finish(node, "SKIPPED", reason=reason)

    def _finish_run(self, root: Node) -> None:
        if self.run.cancelling:
            state = "CANCELLED"
        elif root.state == "FAILED" or self.run.failing:
            state = "FAILED"
        else:
            state = "SUCCEEDED"
        self.run.state = state
        self.run.finished_at = root.finished_at
        if state == "FAILED" and not self.run.error:
            self.run.error = root.reason or "a step failed"
        self.run.out_parameters = dict(root.out_parameters)
        self.run.out_artifacts = dict(root.out_artifacts)
        self._effects.append(Finished(state))

    # helpers ---------------------------------------------------------------------------

    def _step(self, node_id: str) -> Node | None:
        node = self.run.nodes.get(node_id)
        if node is None or node.kind != "container":
            return None
        return node

    def _task(self, node: Node) -> TaskPlan:
        scope = self.run.nodes[node.scope]
        component = scope.component
        return self.plan.tasks[component][node.task]

    def _runs_whatever_happens(self, node: Node) -> bool:
        if node.kind == "iteration":
            return False
        return self._task(node).strategy == COMPLETED

    def _stamp(self) -> str:
        return self.now.isoformat()
