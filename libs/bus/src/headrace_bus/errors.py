"""Errors of the bus, the ones handlers raise to steer redelivery, and which errors are worth
trying again.

::

    BusError                    root; ``retryable`` says whether trying again may help
    ├── PermanentError          raised by a handler: this message can never succeed, so it
    │                           is dead-lettered at once instead of redelivered
    ├── RetryableError          raised by a handler: try again later
    ├── RequestFailed           a query's responder answered with an error
    ├── StreamConfigError       the NATS server refused a stream's configuration (its limits)
    ├── PullFailed              the server refused a pull from a durable consumer
    └── NoResponders            nobody answers a query subject (service not running)
        └── RequestTimeout      nobody answered in time

Only the consumer edge (:mod:`headrace_bus.dispatcher`) turns errors into ack / nak / term,
and :func:`is_retryable` is how it tells a passing failure from one that will happen again
on every delivery. For any exception, in this order:

1. Its own ``retryable`` attribute, when it has a bool one. Every Headrace error hierarchy
   carries it (``BusError``, ``ContractError``, ``ArtifactStoreError``, ``TrainerError``,
   the client's errors), so a library says once, where it raises, what a retry can do.
2. SQLAlchemy errors, recognised by class name so the bus needs no SQLAlchemy:
   ``OperationalError`` (a locked SQLite file, a lost or refused connection, a
   serialisation failure), ``InterfaceError``, ``InternalError``, ``DisconnectionError``, a
   pool ``TimeoutError`` and ``IntegrityError`` (a replica inserted the same key a moment
   before; the retry sees its row) are retried, as is any ``DBAPIError`` whose connection
   was invalidated. ``ProgrammingError``, ``DataError``, ``NotSupportedError`` and the
   SQLAlchemy usage errors (``ArgumentError``, ``CompileError``, ``InvalidRequestError``,
   ``NoResultFound``, ...) are the code's or the data's fault and are not.
3. Standard exceptions that the same input raises again: ``ValueError`` (so also pydantic's
   ``ValidationError``, ``json.JSONDecodeError``, ``UnicodeError``), ``TypeError``,
   ``LookupError`` (``KeyError``, ``IndexError``), ``ArithmeticError``
   (``ZeroDivisionError``), ``AttributeError``, ``AssertionError``, ``NameError`` and
   ``NotImplementedError`` are not retryable.
4. Anything else (``OSError`` and its ``ConnectionError``/``TimeoutError``, NATS client
   errors, ``RuntimeError``, an unknown library's error) is retryable: a bounded number of
   redeliveries with backoff costs little, and dropping a message a retry would have
   carried is worse.
"""

from __future__ import annotations


class BusError(Exception):
    retryable = True


class StreamConfigError(BusError):
    """The NATS server refused a stream's configuration; the message says which limits."""

    retryable = False


class PullFailed(BusError):
    """The server answered a pull request with an error status (``400 Bad Request``, a
    consumer that is not a pull consumer); the puller tries again after a pause."""

    def __init__(self, subject: str, status: str) -> None:
        self.subject = subject
        self.status = status
        super().__init__(
            f"the NATS server refused the pull {subject}: {status}; check that the consumer "
            "exists and is a pull consumer (the service recreates it at start)"
        )


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


TRANSIENT_BY_NAME = frozenset(
    f"sqlalchemy.exc.{name}"
    for name in (
        "OperationalError",
        "InterfaceError",
        "InternalError",
        "DisconnectionError",
        "TimeoutError",
        "IntegrityError",
    )
)
PERMANENT_BY_NAME = frozenset(
    f"sqlalchemy.exc.{name}"
    for name in (
        "ProgrammingError",
        "DataError",
        "NotSupportedError",
        "ArgumentError",
        "CompileError",
        "InvalidRequestError",
        "NoResultFound",
        "MultipleResultsFound",
    )
)
PERMANENT_TYPES: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
    AttributeError,
    AssertionError,
    NameError,
    NotImplementedError,
)


def is_retryable(error: BaseException) -> bool:
    """Whether handling the same message again may succeed (see the module docstring)."""
    flag = getattr(error, "retryable", None)
    if isinstance(flag, bool):
        return flag
    if getattr(error, "connection_invalidated", False) is True:
        return True
    for kind in type(error).__mro__:
        name = f"{kind.__module__}.{kind.__qualname__}"
        if name in TRANSIENT_BY_NAME:
            return True
        if name in PERMANENT_BY_NAME:
            return False
    return not isinstance(error, PERMANENT_TYPES)
