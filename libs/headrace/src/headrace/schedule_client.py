"""Recurring runs from the :class:`headrace.Client`: create, list, get, pause, resume, delete.

::

    with Client() as client:
        client.create_schedule("nightly", my_pipeline, {"n": 5}, cron="0 2 * * *")
        client.pause_schedule("nightly")

Each command waits for the scheduler's answer: the schedule as it now is, or
:class:`ScheduleRejectedError` with the scheduler's reason. A bad cron expression or
interval, and parameters the pipeline needs and was not given, are refused here before
anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from headrace_bus import Bus, first_answer
from headrace_contracts import (
    CreateSchedule,
    DeleteSchedule,
    GetSchedule,
    ListSchedules,
    Message,
    PauseSchedule,
    Query,
    ResumeSchedule,
    ScheduleCreated,
    ScheduleDeleted,
    ScheduleDetail,
    ScheduleList,
    SchedulePaused,
    ScheduleRejected,
    ScheduleResumed,
    ScheduleView,
)
from headrace_pipelines import (
    SpecError,
    bind_arguments,
    check_schedule_arguments,
    compile_plan,
    timing,
)

from .run_errors import ClientError, PlatformUnavailable
from .run_source import load_source

T = TypeVar("T")
ANSWERER = "the scheduler"
_OUTCOMES: tuple[type[Message], ...] = (
    ScheduleCreated,
    SchedulePaused,
    ScheduleResumed,
    ScheduleDeleted,
    ScheduleRejected,
)


class ScheduleRejectedError(ClientError):
    """A schedule command refused, here or by the scheduler; the message says why."""


class ScheduleNotFound(ClientError):
    def __init__(self, name: str, namespace: str) -> None:
        super().__init__(
            f"no schedule {name!r} in namespace {namespace!r} (see `headrace schedule list`)"
        )


def check_timing(cron: str, every: str) -> None:
    """:class:`ScheduleRejectedError` naming a bad ``cron`` or ``every``."""
    try:
        timing(cron, every, datetime.now().astimezone())
    except SpecError as exc:
        raise ScheduleRejectedError(str(exc)) from None


class ScheduleCalls:
    """Schedule calls of :class:`headrace.Client`; they need its loop and bus."""

    if TYPE_CHECKING:
        timeout: float
        submit_timeout: float
        nats_url: str

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _publish(self, message: Message) -> None: ...
        async def _ask(self, query: Query, who: str = ...) -> Any: ...
        async def _connected(self) -> Bus: ...

    def create_schedule(
        self,
        name: str,
        pipeline: Any,
        arguments: Mapping[str, Any] | None = None,
        *,
        cron: str = "",
        every: str = "",
        max_concurrency: int = 1,
        catchup: bool = True,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        namespace: str = "default",
        experiment: str = "Default",
        enable_caching: bool = True,
        allow_host_containers: bool = False,
        pipeline_name: str | None = None,
    ) -> ScheduleView:
        """Start a run of ``pipeline`` (as :meth:`submit` takes it) at every tick of
        ``cron`` (5 fields, or 6 with seconds first) or ``every`` (``30s``, ``5m``, ``1h``)."""
        check_timing(cron, every)
        spec, platform = load_source(pipeline, pipeline_name=pipeline_name)
        given = dict(arguments or {})
        try:
            plan = compile_plan(spec)
            check_schedule_arguments(plan, given)
            bound = bind_arguments(plan, given)
        except SpecError as exc:
            raise ScheduleRejectedError(f"schedule {name!r}: {exc}") from None
        command = CreateSchedule(
            name=name,
            namespace=namespace,
            pipeline_spec=spec,
            platform_spec=platform,
            arguments={key: bound.get(key, value) for key, value in given.items()},
            cron=cron,
            every=every,
            max_concurrency=max_concurrency,
            catchup=catchup,
            start_at=start_at,
            end_at=end_at,
            experiment=experiment,
            enable_caching=enable_caching,
            allow_host_containers=allow_host_containers,
            request_id=uuid.uuid4().hex,
        )
        self._call(self._schedule_command(command))
        return self.get_schedule(name, namespace=namespace)

    def get_schedule(self, name: str, *, namespace: str = "default") -> ScheduleView:
        reply = self._call(self._ask(GetSchedule(name=name, namespace=namespace), ANSWERER))
        assert isinstance(reply, ScheduleDetail)
        if reply.schedule is None:
            raise ScheduleNotFound(name, namespace)
        return reply.schedule

    def list_schedules(self, *, namespace: str = "default", limit: int = 100) -> ScheduleList:
        reply = self._call(self._ask(ListSchedules(namespace=namespace, limit=limit), ANSWERER))
        assert isinstance(reply, ScheduleList)
        return reply

    def pause_schedule(self, name: str, *, namespace: str = "default") -> ScheduleView:
        """Stop firing; ticks while paused are skipped."""
        self._call(
            self._schedule_command(PauseSchedule(name=name, namespace=namespace, request_id=_id()))
        )
        return self.get_schedule(name, namespace=namespace)

    def resume_schedule(self, name: str, *, namespace: str = "default") -> ScheduleView:
        """Fire again, from the first tick after now."""
        self._call(
            self._schedule_command(ResumeSchedule(name=name, namespace=namespace, request_id=_id()))
        )
        return self.get_schedule(name, namespace=namespace)

    def delete_schedule(self, name: str, *, namespace: str = "default") -> None:
        """Forget the schedule; the runs it started go on."""
        self._call(
            self._schedule_command(DeleteSchedule(name=name, namespace=namespace, request_id=_id()))
        )

    async def _schedule_command(self, command: Any) -> Message:
        """Send ``command`` and wait for the event repeating its ``request_id``."""
        bus = await self._connected()
        try:
            outcome = await first_answer(
                bus,
                lambda: self._publish(command),
                _OUTCOMES,
                field="request_id",
                value=command.request_id,
                timeout=self.submit_timeout,
            )
        except TimeoutError:
            raise PlatformUnavailable(
                self.nats_url,
                f"{type(command).__name__} {command.name!r} was sent, but {ANSWERER} did "
                f"not answer within {self.submit_timeout:g}s: check `headrace status`",
            ) from None
        if isinstance(outcome, ScheduleRejected):
            raise ScheduleRejectedError(
                f"schedule {outcome.namespace}/{outcome.name}: {outcome.command} refused: "
                f"{outcome.reason}"
            )
        return outcome


def _id() -> str:
    return uuid.uuid4().hex
