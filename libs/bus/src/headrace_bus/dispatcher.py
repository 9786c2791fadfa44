"""The consumer edge: decode, trace, call the handler, then ack, nak or dead-letter.

Handlers never see acks; they return (done) or raise. An error that is not retryable
(:func:`headrace_bus.errors.is_retryable`: ``PermanentError``, a ``ValueError``, any error
whose ``retryable`` is False) is dead-lettered at once; any other is redelivered with backoff
until the retry policy is exhausted.

Before a message that was decoded is dead-lettered, its *give-up* hook (if the consumer has
one for its type) runs, so whatever the message belongs to (a run, a step) can be ended
visibly rather than wait forever. If the hook itself fails, the message is redelivered while
the server still holds a delivery for it, and dead-lettered with both errors after that.

Where handlers run is the owner's choice (a `Runner`): a service runs them, with their
database work, on a thread of its own, so this loop stays free to fetch, acknowledge and
answer queries. A batch goes there whole (its handlers and its commit, one hop); decoding,
the heartbeat and the acknowledgements after it stay on the bus's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from nats.aio.msg import Msg
from opentelemetry.trace import SpanKind, Status, StatusCode, use_span

from headrace_contracts import Catalogue, ContractError, Envelope, Message, decode
from headrace_telemetry import extract, process_attributes, process_span_name

from .deadletter import settle
from .policy import Ack, DeadLetter, Nak, RetryPolicy, decide
from .progress import keep_alive

if TYPE_CHECKING:
    from .bus import Bus

Handler = Callable[[Envelope[Any]], Awaitable[None]]
GiveUp = Callable[[Envelope[Any], DeadLetter], Awaitable[None]]
T = TypeVar("T")


class Runner(Protocol):
    """Where a consumer's handling runs: ``await runner(fn)`` awaits ``fn()`` there, in a
    copy of the caller's context, and cancelling the caller cancels it."""

    def __call__(self, fn: Callable[[], Awaitable[T]], /) -> Awaitable[T]: ...


async def run_here(fn: Callable[[], Awaitable[T]], /) -> T:
    """The default `Runner`: on the caller's loop."""
    return await fn()


class Batch(Protocol):
    """One transaction for several messages, provided by the consumer's owner.

    ``handle`` runs one message's handler inside the transaction; ``commit`` ends it (and
    sends what the handlers published); ``close`` releases it, rolling back if not committed.
    Any error from ``handle`` or ``commit`` aborts the whole batch: each of its messages is
    then handled alone, so one bad message costs the others nothing but time.
    """

    async def handle(self, envelope: Envelope[Any]) -> None: ...

    async def commit(self) -> None: ...

    def close(self) -> None: ...


BatchFactory = Callable[[Sequence[Envelope[Any]]], Batch]

log = logging.getLogger("headrace.bus")


class Dispatcher:
    """Routes the messages of one durable consumer to their handlers by CloudEvents type."""

    def __init__(
        self,
        bus: Bus,
        durable: str,
        handlers: Mapping[type[Message], Handler],
        policy: RetryPolicy,
        catalogue: Catalogue,
        ack_wait: float,
        give_ups: Mapping[type[Message], GiveUp] | None = None,
        batch: BatchFactory | None = None,
        run: Runner | None = None,
    ) -> None:
        self._bus = bus
        self._batch = batch
        self._run: Runner = run or run_here
        self.prefetch = run is not None
        """Whether the next batch is fetched while one is handled (off this loop)."""
        self.durable = durable
        self._handlers = dict(handlers)
        self._give_ups = dict(give_ups or {})
        self._policy = policy
        self._catalogue = catalogue
        self._ack_wait = ack_wait

    @property
    def subjects(self) -> list[str]:
        return sorted({m.subject() for m in self._handlers})

    async def handle_batch(self, raws: list[Msg]) -> None:
        """Handle fetched messages: together in one transaction when the owner provides
        batches, else (or when the batch is aborted) one at a time. Cancelled (the service
        is stopping), it gives every message not yet settled back to the server at once."""
        try:
            await self._handle_batch(raws)
        except asyncio.CancelledError:
            for raw in raws:
                with contextlib.suppress(Exception):
                    await raw.nak()  # one acked already ignores it
            raise

    async def _handle_batch(self, raws: list[Msg]) -> None:
        if self._batch is None or len(raws) == 1:
            for raw in raws:
                await self(raw)
            return
        decoded: list[tuple[Msg, Envelope[Any]]] = []
        for raw in raws:
            envelope = await self._decode(raw)
            if envelope is not None:
                decoded.append((raw, envelope))
        if not decoded:
            return
        raws = [raw for raw, _ in decoded]
        heartbeat = asyncio.create_task(keep_alive(self._ack_wait, *raws))
        try:
            together = await self._run(lambda: self._handle_together(decoded))
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        for raw, _ in decoded:
            if together:
                await raw.ack()
            else:
                await self(raw)

    async def _handle_together(self, decoded: list[tuple[Msg, Envelope[Any]]]) -> bool:
        assert self._batch is not None
        batch = self._batch([envelope for _, envelope in decoded])
        try:
            for raw, envelope in decoded:
                with self._span(raw, envelope) as span:
                    try:
                        await batch.handle(envelope)
                    except Exception as exc:
                        span.record_exception(exc)
                        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                        raise
            await batch.commit()
        except Exception as exc:
            log.info(
                "%s: a batch of %d aborted (%s: %s); handling its messages one at a time",
                self.durable,
                len(decoded),
                type(exc).__name__,
                exc,
            )
            return False
        finally:
            batch.close()
        return True

    async def _decode(self, raw: Msg) -> Envelope[Any] | None:
        """The message's envelope, or None after dead-lettering a message no handler takes."""
        headers = dict(raw.headers or {})
        try:
            envelope = decode(headers, raw.data, self._catalogue, subject=raw.subject)
            if type(envelope.message) not in self._handlers:
                raise ContractError(
                    f"consumer {self.durable!r} has no handler for {envelope.type!r} on "
                    f"{raw.subject}: publish it with a type this service handles"
                )
        except ContractError as exc:
            log.warning("dead-lettering invalid message on %s: %s", raw.subject, exc)
            delivered = raw.metadata.num_delivered or 1
            await self._settle(raw, headers, delivered, DeadLetter("invalid", str(exc)))
            return None
        return envelope

    def _span(self, raw: Msg, envelope: Envelope[Any]) -> Any:
        """The consumer span of one message, current while its handler runs.

        Its attributes are set only if it is recorded (see `headrace_telemetry.tracer`):
        reading the delivery count parses the ack subject, which costs more than the span.
        """
        span = self._bus.tracer.start_span(
            process_span_name(raw.subject),
            context=extract(envelope.headers),
            kind=SpanKind.CONSUMER,
            record_exception=False,
            set_status_on_exception=False,
        )
        if span.is_recording():
            span.set_attributes(
                process_attributes(
                    raw.subject,
                    message_id=envelope.id,
                    ce_type=envelope.type,
                    body_size=len(raw.data),
                    consumer_group=self.durable,
                    delivery_count=raw.metadata.num_delivered or 1,
                    client_id=self._bus.source,
                )
            )
        return use_span(
            span, end_on_exit=True, record_exception=False, set_status_on_exception=False
        )

    async def __call__(self, raw: Msg) -> None:
        headers = dict(raw.headers or {})
        delivered = raw.metadata.num_delivered or 1
        envelope = await self._decode(raw)
        if envelope is None:
            return
        handler = self._handlers[type(envelope.message)]
        with self._span(raw, envelope) as span:
            error: BaseException | None = None
            heartbeat = asyncio.create_task(keep_alive(self._ack_wait, raw))
            try:
                await self._run(lambda: handler(envelope))
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
                    "%s handling %s (%s, delivery %d): %s -> %s",
                    self.durable,
                    envelope.type,
                    envelope.id,
                    delivered,
                    error,
                    type(action).__name__,
                    exc_info=isinstance(action, DeadLetter),
                )
            if isinstance(action, DeadLetter):
                given_up = await self._give_up(envelope, action, delivered)
                if given_up is None:
                    await raw.nak(delay=self._policy.delay(delivered))
                    return
                action = given_up
            await self._settle(raw, headers, delivered, action)

    async def _give_up(
        self, envelope: Envelope[Any], action: DeadLetter, delivered: int
    ) -> DeadLetter | None:
        """Run the give-up hook; the dead letter to write, or None to redeliver and retry."""
        hook = self._give_ups.get(type(envelope.message))
        if hook is None:
            return action
        try:
            await self._run(lambda: hook(envelope, action))
        except Exception as exc:
            log.exception(
                "%s: giving up on %s (%s) failed", self.durable, envelope.type, envelope.id
            )
            if delivered <= self._policy.max_deliver:  # the server keeps one more delivery
                return None
            return DeadLetter(
                action.reason, f"{action.error}; giving up failed too: {type(exc).__name__}: {exc}"
            )
        return action

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
