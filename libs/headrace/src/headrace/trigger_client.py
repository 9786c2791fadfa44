"""The client's event-trigger calls (mixed into :class:`headrace.Client`).

::

    with Client() as client:
        client.create_trigger(
            "on-order", "pipeline.py", on="com.shop.order.created",
            filter="data.total > 100", parameters={"order": "{{ data.id }}"},
        )
        view = client.get_trigger("on-order")   # counters: runs started, rejected, last error

``CreateTrigger``/``DeleteTrigger`` go out with a fresh ``request_id``; the call waits for the
scheduler's ``TriggerCreated``/``TriggerDeleted`` or ``TriggerRejected`` repeating it. The
definition is checked here first (the filter and templates compiled as CEL, the parameters
against the pipeline), so a mistake is named before anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from headrace_bus import Bus, first_answer
from headrace_contracts import (
    CreateTrigger,
    DeleteTrigger,
    GetTrigger,
    ListTriggers,
    Message,
    Query,
    TriggerCreated,
    TriggerDeleted,
    TriggerDetail,
    TriggerList,
    TriggerRejected,
    TriggerView,
)
from headrace_contracts.registry import DEFAULT_NAMESPACE
from headrace_contracts.triggers import DEFAULT_TRIGGER_SUBJECT
from headrace_pipelines import SpecError, compile_plan
from headrace_pipelines.triggers import TriggerError as DefinitionError
from headrace_pipelines.triggers import check_label, compile_trigger

from .run_source import load_source
from .trigger_errors import InvalidTrigger, TriggerError, TriggerNotFound, TriggerRejectedError

__all__ = ["TriggerCalls"]

T = TypeVar("T")


class TriggerCalls:
    """Trigger calls of :class:`headrace.Client`; they need its loop and bus."""

    trigger_answer_timeout: float = 15.0

    if TYPE_CHECKING:
        nats_url: str
        timeout: float

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _connected(self) -> Bus: ...
        async def _publish(self, message: Message) -> None: ...
        async def _ask(self, query: Query, who: str = "the scheduler") -> Any: ...

    def create_trigger(
        self,
        name: str,
        pipeline: Any,
        *,
        on: str,
        subject: str = DEFAULT_TRIGGER_SUBJECT,
        filter: str = "",
        parameters: Mapping[str, Any] | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        pipeline_name: str | None = None,
        enable_caching: bool = True,
    ) -> TriggerView:
        """Start a run of ``pipeline`` for every CloudEvent of type ``on`` on ``subject``
        that passes ``filter``; ``parameters`` maps pipeline parameters to
        ``"{{ CEL }}"`` templates over ``attributes`` and ``data``, or constants."""
        spec, platform = load_source(pipeline, pipeline_name=pipeline_name)
        given = dict(parameters or {})
        try:
            compile_trigger(
                name=name,
                namespace=namespace,
                event_type=on,
                subject=subject,
                filter_text=filter,
                parameters=given,
                plan=compile_plan(spec, platform),
            )
        except (SpecError, DefinitionError) as exc:
            raise InvalidTrigger(str(exc)) from None
        command = CreateTrigger(
            name=name,
            namespace=namespace,
            event_type=on,
            nats_subject=subject,
            filter=filter,
            parameters=given,
            pipeline_spec=spec,
            platform_spec=platform,
            enable_caching=enable_caching,
            request_id=uuid.uuid4().hex,
        )
        answer = self._call(self._trigger_command(command, TriggerCreated))
        if isinstance(answer, TriggerRejected):
            raise TriggerRejectedError(name, answer.reason)
        return self.get_trigger(name, namespace=namespace)

    def delete_trigger(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        _valid(name, namespace)
        command = DeleteTrigger(name=name, namespace=namespace, request_id=uuid.uuid4().hex)
        answer = self._call(self._trigger_command(command, TriggerDeleted))
        if isinstance(answer, TriggerRejected):
            raise TriggerNotFound(answer.reason)

    def get_trigger(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> TriggerView:
        """The trigger with its counters: events matched, filtered out and rejected, runs
        started, and the last error with the event it came from."""
        _valid(name, namespace)
        reply = self._call(self._ask(GetTrigger(name=name, namespace=namespace)))
        assert isinstance(reply, TriggerDetail)
        if reply.trigger is None:
            raise TriggerNotFound(
                f"no trigger {name!r} in namespace {namespace!r}: list them with "
                "`headrace trigger list`"
            )
        return reply.trigger

    def list_triggers(self, *, namespace: str = DEFAULT_NAMESPACE) -> TriggerList:
        """The namespace's triggers, and how many external events no trigger took."""
        _valid("x", namespace)
        reply = self._call(self._ask(ListTriggers(namespace=namespace)))
        assert isinstance(reply, TriggerList)
        return reply

    async def _trigger_command(
        self, command: CreateTrigger | DeleteTrigger, done: type[Message]
    ) -> Message:
        await self._ask(ListTriggers(namespace=command.namespace))  # a scheduler there at all?
        bus = await self._connected()
        try:
            return await first_answer(
                bus,
                lambda: self._publish(command),
                (done, TriggerRejected),
                field="request_id",
                value=command.request_id,
                timeout=self.trigger_answer_timeout,
            )
        except TimeoutError:
            raise TriggerError(
                f"{type(command).__name__} for trigger {command.name!r} was sent, but the "
                f"scheduler did not answer within {self.trigger_answer_timeout:g}s: it may "
                "be busy; check with `headrace trigger list` later"
            ) from None


def _valid(name: str, namespace: str) -> None:
    try:
        check_label(name, "trigger name")
        check_label(namespace, "namespace")
    except DefinitionError as exc:
        raise InvalidTrigger(str(exc)) from None
