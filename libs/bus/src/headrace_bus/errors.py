"""Errors of the bus and the ones handlers raise to steer redelivery.

::

    BusError                    root; ``retryable`` says whether trying again may help
    ├── PermanentError          raised by a handler: this message can never succeed, so it
    │                           is dead-lettered at once instead of redelivered
    ├── RetryableError          raised by a handler: try again later (the default for any
    │                           other exception too)
    ├── RequestFailed           a query's responder answered with an error
    └── NoResponders            nobody answers a query subject (service not running)
        └── RequestTimeout      nobody answered in time

Only the consumer edge (:mod:`headrace_bus.dispatcher`) turns these into ack / nak / term.
"""

from __future__ import annotations


class BusError(Exception):
    retryable = True


class PermanentError(BusError):
    """The handler will never succeed on this message: dead-letter it with this reason."""

    retryable = False


class RetryableError(BusError):
    """The handler failed for a passing reason: redeliver with backoff."""


class RequestFailed(BusError):
    """The responder of a query raised; ``str(error)`` is its reason."""

    retryable = False


class NoResponders(BusError):
    def __init__(self, subject: str, detail: str = "") -> None:
        self.subject = subject
        super().__init__(
            detail
            or f"no service answers {subject}: is the platform running? "
            "(start it with `headrace up`, or point HEADRACE_NATS_URL at it)"
        )


class RequestTimeout(NoResponders):
    def __init__(self, subject: str, timeout: float) -> None:
        super().__init__(
            subject,
            f"no answer on {subject} within {timeout:g}s: the service may be down or busy",
        )
