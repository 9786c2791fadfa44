"""The consumer edge for other systems' CloudEvents (stream ``HEADRACE_EXT``, ``headrace.ext.>``).

Their types are not in the catalogue, so they are read as
:class:`headrace_contracts.external.ExternalEvent` and go to one handler, whatever their
type. The rules are the platform's: a message that is not a CloudEvent (a header missing,
data that is not JSON) is dead-lettered with reason ``invalid``; a handler error that is not
retryable is dead-lettered at once (``rejected``), a retryable one redelivered with backoff
until the retry policy is used up (``exhausted``); the handler returning acknowledges it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from nats.aio.msg import Msg
from opentelemetry.trace import SpanKind, Status, StatusCode

from headrace_contracts import ContractError
from headrace_contracts.external import ExternalEvent, decode_external
from headrace_telemetry import extract, process_attributes, process_span_name

from .deadletter import settle
from .dispatcher import Runner, run_here
from .policy import Ack, DeadLetter, Nak, RetryPolicy, decide
from .progress import keep_alive

if TYPE_CHECKING:
    from .bus import Bus

ExternalHandler = Callable[[ExternalEvent], Awaitable[None]]

log = logging.getLogger("headrace.bus")


class ExternalDispatcher:
    """Hands each external CloudEvent of one durable consumer to ``handler``."""

    def __init__(
        self,
        bus: Bus,
        durable: str,
        subjects: Sequence[str],
        handler: ExternalHandler,
        policy: RetryPolicy,
        ack_wait: float,
        run: Runner | None = None,
    ) -> None:
        self._bus = bus
        self._run: Runner = run or run_here
        self.durable = durable
        self.subjects = sorted(subjects)
        self._handler = handler
        self._policy = policy
        self._ack_wait = ack_wait

    async def handle_batch(self, raws: list[Msg]) -> None:
        try:
            for raw in raws:
                await self(raw)
        except asyncio.CancelledError:
            for raw in raws:
                with contextlib.suppress(Exception):
                    await raw.nak()  # one acked already ignores it
            raise

    async def __call__(self, raw: Msg) -> None:
        headers = dict(raw.headers or {})
        delivered = raw.metadata.num_delivered or 1
        try:
            event = decode_external(headers, raw.data, subject=raw.subject)
        except ContractError as exc:
            log.warning("dead-lettering invalid external event on %s: %s", raw.subject, exc)
            await self._settle(raw, headers, delivered, DeadLetter("invalid", str(exc)))
            return
        with self._bus.tracer.start_as_current_span(
            process_span_name(raw.subject),
            context=extract(headers),
            kind=SpanKind.CONSUMER,
            attributes=process_attributes(
                raw.subject,
                message_id=event.id,
                ce_type=event.type,
                body_size=len(raw.data),
                consumer_group=self.durable,
                delivery_count=delivered,
                client_id=self._bus.source,
            ),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            error: BaseException | None = None
            heartbeat = asyncio.create_task(keep_alive(self._ack_wait, raw))
            try:
                await self._run(lambda: self._handler(event))
            except Exception as exc:
                error = exc
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
            action = decide(self._policy, delivered, error)
            if error is not None:
                log.log(
                    logging.ERROR if isinstance(action, DeadLetter) else logging.WARNING,
                    "%s handling external %s (%s, delivery %d): %s -> %s",
                    self.durable,
                    event.type,
                    event.id,
                    delivered,
                    error,
                    type(action).__name__,
                )
            await self._settle(raw, headers, delivered, action)

    async def _settle(
        self, raw: Msg, headers: dict[str, str], delivered: int, action: Ack | Nak | DeadLetter
    ) -> None:
        await settle(
            self._bus,
            self.durable,
            raw,
            headers,
            delivered,
            action,
            retry_after=self._policy.backoff_max,
        )
