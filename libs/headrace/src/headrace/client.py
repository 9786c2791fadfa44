"""The Headrace client: submit pipeline runs and follow them, from plain synchronous code.

::

    from headrace import Client

    with Client() as client:                       # the platform `headrace up` started
        run_id = client.submit(my_pipeline, {"n": 5})
        run = client.wait(run_id, timeout=600)
        print(run.state, run.output_parameters)

The client runs its own asyncio loop in a background thread and talks to the scheduler
through :class:`headrace_bus.Bus`: it publishes ``SubmitRun``/``CancelRun`` and asks
``GetRun``/``ListRuns``. Errors are :mod:`headrace.run_errors` (re-exported here).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Coroutine, Generator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from nats.aio.msg import Msg

from headrace_bus import (
    DEFAULT_URL,
    Bus,
    BusConfig,
    NoResponders,
    RequestFailed,
    RequestTimeout,
    first_answer,
)
from headrace_contracts import (
    ArtifactRef,
    CancelRun,
    GetRun,
    ListRuns,
    Message,
    Query,
    RunCancelled,
    RunDetail,
    RunFailed,
    RunList,
    RunRejected,
    RunStarted,
    RunSucceeded,
    RunView,
    StepView,
    SubmitRun,
)
from headrace_contracts.base import SUBJECT_PREFIX
from headrace_contracts.run_views import RUN_FINAL_STATES, RUN_SORTS, RUN_STATES
from headrace_pipelines import (
    Plan,
    SpecError,
    artifact_path,
    bind_arguments,
    bind_input_artifacts,
    compile_plan,
)

from .experiment_client import ExperimentCalls
from .job_client import TrainingJobCalls
from .model_client import ModelRegistryCalls
from .run_errors import (
    BadListQuery,
    ClientError,
    PipelineLoadError,
    PlatformUnavailable,
    RunExistsError,
    RunNotFound,
    RunRejectedError,
    RunTimeout,
)
from .run_ids import check_run_id, new_run_id
from .run_source import load_source
from .schedule_client import ScheduleCalls
from .serving import ServingCalls
from .token_client import TokenCalls
from .trace_context import callers_context, within
from .trigger_client import TriggerCalls

__all__ = [
    "BadListQuery",
    "Client",
    "ClientError",
    "PipelineLoadError",
    "PlatformUnavailable",
    "RunExistsError",
    "RunNotFound",
    "RunRejectedError",
    "RunTimeout",
    "platform_nats_url",
]

T = TypeVar("T")
SOURCE = "headrace/client"
WAIT_POLL_FIRST = 0.5
WAIT_POLL_MAX = 5.0
WATCH_COALESCE = 0.05
WATCH_RECHECK = 0.25


def platform_nats_url(home: str | os.PathLike[str] | None = None) -> str:
    """The NATS URL of the platform running in ``home`` (as ``headrace status`` finds it),
    else ``HEADRACE_NATS_URL``, else ``nats://127.0.0.1:4222``."""
    from .control import find_platform
    from .home import Home, resolve_home

    found = find_platform(Home(resolve_home(home)))
    if found.running and found.state is not None:
        return found.state.nats_url
    return os.environ.get("HEADRACE_NATS_URL") or DEFAULT_URL


class Client(
    ModelRegistryCalls,
    TrainingJobCalls,
    ExperimentCalls,
    ServingCalls,
    TriggerCalls,
    ScheduleCalls,
    TokenCalls,
):
    """A synchronous connection to a Headrace platform; use it as a context manager.

    ``timeout`` bounds connecting and each question to the scheduler; ``submit_timeout``
    how long :meth:`submit` waits for the scheduler to accept or reject a run.
    """

    def __init__(
        self,
        nats_url: str | None = None,
        home: str | os.PathLike[str] | None = None,
        timeout: float = 5.0,
        *,
        submit_timeout: float = 10.0,
    ) -> None:
        self.nats_url = nats_url or platform_nats_url(home)
        self.timeout = timeout
        self.submit_timeout = submit_timeout
        self._bus: Bus | None = None
        self._connecting: asyncio.Lock | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="headrace-client", daemon=True
        )
        self._thread.start()
        self._closed = False

    # lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect and stop the client's loop thread; safe to call twice."""
        if self._closed:
            return
        try:
            if self._bus is not None:
                self._call(self._bus.close())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    # runs ------------------------------------------------------------------------------

    def submit(
        self,
        pipeline: Any,
        arguments: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        display_name: str = "",
        experiment: str = "Default",
        enable_caching: bool = True,
        allow_host_containers: bool = False,
        labels: Mapping[str, str] | None = None,
        pipeline_name: str | None = None,
    ) -> str:
        """Start a run of ``pipeline``; returns its run id once the scheduler accepted it.

        ``pipeline`` is a ``@dsl.pipeline`` function, a path to a compiled YAML/JSON or to a
        ``.py`` file defining a pipeline (``pipeline_name`` picks one of several), YAML
        text, or a PipelineSpec dict. The spec and ``arguments`` are checked here first;
        :class:`RunRejectedError` says what is wrong, locally or from the scheduler. The
        pipeline's own input artifacts are passed as URIs in ``arguments``
        (``{"data": "file:///data/train.csv"}`` or ``"s3://bucket/key"``).
        """
        spec, platform = load_source(pipeline, pipeline_name=pipeline_name)
        plan = checked_plan(spec)
        given = dict(arguments or {})
        try:
            bound = bind_arguments(plan, given)
            check_input_artifacts(bind_input_artifacts(plan, given))
        except SpecError as exc:
            raise RunRejectedError(str(exc)) from None
        chosen = check_run_id(run_id) if run_id else new_run_id(plan.name)
        message = SubmitRun(
            run_id=chosen,
            pipeline_spec=spec,
            platform_spec=platform,
            arguments={name: bound.get(name, value) for name, value in given.items()},
            display_name=display_name,
            experiment=experiment,
            enable_caching=enable_caching,
            allow_host_containers=allow_host_containers,
            labels=dict(labels or {}),
        )
        return self._call(self._submit(message))

    def get(self, run_id: str, *, steps: bool = True) -> RunView:
        """The run with all its steps (none with ``steps=False``, which is cheap however
        large the run); :class:`RunNotFound` if the scheduler knows none."""
        run = self._call(self._find(run_id, steps=steps))
        if run is None:
            raise RunNotFound(run_id)
        return run

    def wait(self, run_id: str, timeout: float | None = None, *, steps: bool = True) -> RunView:
        """Until the run has ended (SUCCEEDED, FAILED, CANCELLED or REJECTED); the run with
        its steps, or without them (``steps=False``: a run of thousands of steps does not fit
        in one NATS message).

        Woken by the run's final event as it is published. It asks for the run once after
        subscribing (the event may have gone by before) and then, in case the event is lost
        (a reconnection), again after 0.5 s, 1 s, 2 s and every 5 s at most: asking for a
        large run costs the scheduler more than its steps do.
        """
        run = self._call(self._wait(run_id, timeout, steps))
        if run.state not in RUN_FINAL_STATES:
            raise RunTimeout(run_id, run.state, timeout or 0.0)
        return run

    async def _wait(self, run_id: str, timeout: float | None, steps: bool) -> RunView:
        bus = await self._connected()
        ended = asyncio.Event()
        marker = f'"run_id":"{run_id}"'.encode()

        async def on_event(msg: Msg) -> None:
            if marker in msg.data.replace(b" ", b""):
                ended.set()

        subscriptions = [
            await bus.connection.subscribe(kind.subject(), cb=on_event)
            for kind in (RunSucceeded, RunFailed, RunCancelled, RunRejected)
        ]
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = WAIT_POLL_FIRST
        try:
            while True:
                run = await self._find(run_id, steps=False)
                if run is None:
                    raise RunNotFound(run_id)
                if run.state in RUN_FINAL_STATES:
                    whole = await self._find(run_id) if steps else run
                    return whole or run
                pause = backoff
                backoff = min(backoff * 2, WAIT_POLL_MAX)
                if deadline is not None:
                    pause = min(pause, deadline - time.monotonic())
                    if pause <= 0:
                        return run
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), pause)
        finally:
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    def watch(
        self,
        run_id: str,
        *,
        interval: float | None = None,
        deadline: float | None = None,
    ) -> Generator[RunView, None, None]:
        """Yield the run as it is now, then again each time an event about it (a step's or
        the run's) is published, until it has ended (or ``time.monotonic()`` passes
        ``deadline``). Events close together make one view; a view is yielded only when
        the run changed. ``interval``: also a view at least this often (a terminal's clock
        moves on); ``None``: only on events, and a look after 5 s without any (one may be
        lost with a reconnection). GetRun is asked once per view, never in a loop."""
        changed = threading.Event()
        subscriptions = self._call(self._follow_events(run_id, changed))
        try:
            last: RunView | None = None
            why = "first"  # what this view was taken for: first, event, recheck or tick
            while True:
                changed.clear()
                run = self.get(run_id)
                if why == "first" or run != last or (why == "tick" and interval is not None):
                    yield run
                last = run
                if run.state in RUN_FINAL_STATES:
                    return
                pause = WAIT_POLL_MAX if interval is None else interval
                if why == "event":
                    # A launcher's event can come before the scheduler has recorded what it
                    # says: one more look a moment after the view it woke.
                    pause = min(pause, WATCH_RECHECK)
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    pause = min(pause, left)
                if changed.wait(pause):
                    time.sleep(WATCH_COALESCE)  # a burst of events: one view after it
                    why = "event"
                else:
                    why = "recheck" if why == "event" else "tick"
        finally:
            if not self._closed:
                self._call(_unsubscribe(subscriptions))

    async def _follow_events(self, run_id: str, changed: threading.Event) -> list[Any]:
        """Subscriptions that set ``changed`` on every run or step event of ``run_id``."""
        bus = await self._connected()
        marker = f'"run_id":"{run_id}"'.encode()

        async def on_event(msg: Msg) -> None:
            if marker in msg.data.replace(b" ", b""):
                changed.set()

        return [
            await bus.connection.subscribe(f"{SUBJECT_PREFIX}.{area}.>", cb=on_event)
            for area in ("run", "step")
        ]

    def list_runs(
        self,
        state: str = "",
        experiment: str = "",
        limit: int = 50,
        *,
        pipeline: str = "",
        labels: Mapping[str, str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        sort: str = "created",
        ascending: bool = False,
        page_token: str = "",
    ) -> RunList:
        """One page of the runs matching every filter given (without their steps; each with
        ``step_states``), newest first unless ``sort``/``ascending`` say otherwise.

        The reply's ``total`` counts every match; pass its ``next_page_token`` as
        ``page_token`` for the next page (empty on the last one). Answered by the metadata
        service's run read model. :class:`BadListQuery` (a ``ValueError``) names a bad
        filter or page token and the fix.
        """
        if state and state.upper() not in RUN_STATES:
            raise BadListQuery(f"unknown run state {state!r}: one of {', '.join(RUN_STATES)}")
        if sort not in RUN_SORTS:
            raise BadListQuery(f"unknown sort {sort!r}: sort by {', '.join(RUN_SORTS)}")
        if not 1 <= limit <= 10_000:
            raise BadListQuery(f"limit must be from 1 to 10000, got {limit}")
        for key in labels or {}:
            if not key or "=" in key:
                raise BadListQuery(f"label key {key!r} is not valid: give labels as key=value")
        query = ListRuns(
            state=state.upper(),
            experiment=experiment,
            limit=limit,
            pipeline=pipeline,
            labels=dict(labels or {}),
            created_after=created_after,
            created_before=created_before,
            sort=sort,
            ascending=ascending,
            page_token=page_token,
        )
        reply = self._call(self._ask(query, who="the metadata service"))
        assert isinstance(reply, RunList)
        if reply.error:
            raise BadListQuery(reply.error)
        return reply

    def cancel(self, run_id: str, reason: str = "cancelled by user") -> RunView:
        """Ask the scheduler to cancel a run; returns the run as it was before. A run that
        has ended stays as it is."""
        run = self.get(run_id)
        if run.state not in RUN_FINAL_STATES:
            self._call(self._publish(CancelRun(run_id=run_id, reason=reason)))
        return run

    def logs(self, run_id: str, step_id: str | None = None) -> str:
        """One step's log, or (without ``step_id``) every step's log under a header each."""
        from .run_logs import read_log, step_log_or_note

        run = self.get(run_id)
        if step_id is not None:
            step = find_step(run, step_id)
            if not step.log_uri:
                raise ClientError(
                    f"step {step_id!r} of run {run_id!r} has no log yet (it is {step.state}): "
                    f"try again once it runs, e.g. `headrace run watch {run_id}`"
                )
            return read_log(step.log_uri, what=f"step {step_id!r} of run {run_id!r}")
        parts = []
        for step in run.steps:
            if step.kind in ("container", "importer"):
                parts.append(f"==> {step.step_id} ({step.state}) <==")
                parts.append(step_log_or_note(step, run_id).rstrip("\n"))
        return "\n".join(parts) + ("\n" if parts else "")

    # on the loop -----------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise ClientError("this Client is closed: make a new one")
        carried = within(callers_context(), coro)  # the caller's trace, on the loop
        return asyncio.run_coroutine_threadsafe(carried, self._loop).result()

    async def _connected(self) -> Bus:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._bus is not None:
                return self._bus
            bus = Bus(
                BusConfig(
                    url=self.nats_url,
                    connect_timeout=self.timeout,
                    publish_attempts=3,
                    client_name="headrace-client",
                ),
                source=SOURCE,
            )
            try:
                await asyncio.wait_for(bus.connect(), self.timeout)
            except Exception as exc:
                await bus.close()
                why = "no answer" if isinstance(exc, TimeoutError) else f"{exc}"
                raise PlatformUnavailable(
                    self.nats_url,
                    f"cannot reach NATS at {self.nats_url} ({why}): start the platform with "
                    "`headrace up`, or point HEADRACE_NATS_URL at a running one",
                ) from None
            self._bus = bus
            return bus

    async def _ask(self, query: Query, who: str = "the scheduler") -> Any:
        bus = await self._connected()
        try:
            return await bus.request(query, timeout=self.timeout)
        except RequestTimeout:
            raise PlatformUnavailable(
                self.nats_url,
                f"{who} on NATS at {self.nats_url} did not answer within "
                f"{self.timeout:g}s: it may be busy or down; check `headrace status`",
            ) from None
        except NoResponders:
            raise PlatformUnavailable(
                self.nats_url,
                f"no {who.removeprefix('the ')} answers on NATS at {self.nats_url}: start the "
                "platform with `headrace up`",
            ) from None
        except RequestFailed as exc:
            raise ClientError(f"{who} could not answer: {exc}") from None

    async def _find(self, run_id: str, *, steps: bool = True) -> RunView | None:
        reply = await self._ask(GetRun(run_id=run_id, steps=steps))
        assert isinstance(reply, RunDetail)
        return reply.run

    async def _publish(self, message: Message) -> None:
        bus = await self._connected()
        try:
            await bus.publish(message)
        except Exception as exc:
            raise PlatformUnavailable(
                self.nats_url,
                f"could not publish {type(message).__name__} to NATS at {self.nats_url} "
                f"({type(exc).__name__}: {exc}): check the platform with `headrace status`",
            ) from None

    async def _submit(self, message: SubmitRun) -> str:
        # also: is a scheduler there at all? (without steps: a large run is not sent whole)
        existing = await self._find(message.run_id, steps=False)
        if existing is not None:
            raise RunExistsError(message.run_id, existing.state)
        # Taken up: the scheduler's RunStarted, or RunRejected with its reason.
        bus = await self._connected()
        try:
            answer = await first_answer(
                bus,
                lambda: self._publish(message),
                (RunStarted, RunRejected),
                field="run_id",
                value=message.run_id,
                timeout=self.submit_timeout,
            )
        except TimeoutError:
            # Its answer may have been lost with a dropped connection: the scheduler knows.
            run = await self._find(message.run_id, steps=False)
            if run is None:
                raise ClientError(
                    f"run {message.run_id!r} was sent, but the scheduler did not take it up "
                    f"within {self.submit_timeout:g}s: it may be busy or stuck; look for it "
                    f"later with `headrace run get {message.run_id}`"
                ) from None
            if run.state == "REJECTED":
                reason = run.error or "no reason given"
                raise RunRejectedError(reason, run_id=message.run_id) from None
            return message.run_id
        if isinstance(answer, RunRejected):
            raise RunRejectedError(answer.reason or "no reason given", run_id=message.run_id)
        return message.run_id


def checked_plan(spec: dict[str, Any]) -> Plan:
    """The plan of a spec, or :class:`RunRejectedError` with the spec's fault."""
    try:
        return compile_plan(spec)
    except SpecError as exc:
        raise RunRejectedError(str(exc)) from None


def check_input_artifacts(inputs: Mapping[str, list[ArtifactRef]]) -> None:
    """A ``file://`` input artifact must exist here (this client shares the platform's
    machine); ``s3://`` ones are checked by the scheduler against its artifact store."""
    for name, refs in inputs.items():
        for ref in refs:
            path = artifact_path(ref.uri)
            if path is not None and not path.exists():
                raise SpecError(
                    f"{ref.uri} does not exist: check the path (file:// takes an absolute "
                    f"path, e.g. {Path.cwd().joinpath('data.csv').as_uri()})",
                    task="root",
                    field=f"input artifact {name!r}",
                )


def find_step(run: RunView, step_id: str) -> StepView:
    for step in run.steps:
        if step.step_id == step_id:
            return step
    known = ", ".join(s.step_id for s in run.steps if s.kind in ("container", "importer"))
    raise ClientError(
        f"run {run.run_id!r} has no step {step_id!r} (its steps: {known or 'none yet'})"
    )


async def _unsubscribe(subscriptions: list[Any]) -> None:
    for subscription in subscriptions:
        with contextlib.suppress(Exception):  # the connection may be closing
            await subscription.unsubscribe()
