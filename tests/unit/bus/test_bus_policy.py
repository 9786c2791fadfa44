"""Redelivery decisions and dead-letter headers: pure logic, no broker."""

from __future__ import annotations

import pytest

from headrace_bus import Ack, DeadLetter, Nak, PermanentError, RetryPolicy, deadletter, decide


def test_success_is_acked() -> None:
    assert decide(RetryPolicy(), 1, None) == Ack()


def test_failures_are_retried_with_exponential_backoff_until_max_deliver() -> None:
    policy = RetryPolicy(max_deliver=4, backoff_initial=0.5, backoff_factor=2, backoff_max=1.5)
    error = ConnectionError("down")
    assert decide(policy, 1, error) == Nak(0.5)
    assert decide(policy, 2, error) == Nak(1.0)
    assert decide(policy, 3, error) == Nak(1.5)  # capped
    last = decide(policy, 4, error)
    assert isinstance(last, DeadLetter)
    assert last.reason == "exhausted"
    assert "failed 4 deliveries" in last.error
    assert "ConnectionError: down" in last.error


def test_permanent_error_is_dead_lettered_on_first_delivery() -> None:
    action = decide(RetryPolicy(), 1, PermanentError("no such run"))
    assert action == DeadLetter("rejected", "PermanentError: no such run")


@pytest.mark.parametrize(
    "kwargs",
    [{"max_deliver": 0}, {"backoff_initial": -1}, {"backoff_factor": 0.5}, {"backoff_max": -1}],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_dead_letter_headers_keep_the_original_and_say_why() -> None:
    headers = deadletter.dead_letter_headers(
        {"ce-id": "e1", "ce-type": "io.headrace.step.ready.v1", "Nats-Msg-Id": "e1"},
        reason="exhausted",
        error="Traceback\n  line 1\nValueError: boom",
        consumer="scheduler",
        subject="headrace.step.ready",
        deliveries=5,
        stream_seq=42,
    )
    assert headers["ce-id"] == "e1"
    assert headers["ce-type"] == "io.headrace.step.ready.v1"
    assert headers[deadletter.REASON] == "exhausted"
    assert headers[deadletter.ERROR] == "Traceback line 1 ValueError: boom"  # one header line
    assert headers[deadletter.CONSUMER] == "scheduler"
    assert headers[deadletter.SUBJECT] == "headrace.step.ready"
    assert headers[deadletter.DELIVERIES] == "5"
    assert headers["Nats-Msg-Id"] == "dlq:scheduler:42"
    assert deadletter.dead_letter_subject("headrace.dlq", "scheduler") == "headrace.dlq.scheduler"


def test_dead_letter_error_is_bounded() -> None:
    headers = deadletter.dead_letter_headers(
        {},
        reason="invalid",
        error="x" * 10_000,
        consumer="c",
        subject="s",
        deliveries=1,
        stream_seq=1,
    )
    assert len(headers[deadletter.ERROR]) == deadletter.MAX_ERROR


# which errors are retried -------------------------------------------------------------


def _sqlalchemy_error(kind: type[Exception]) -> Exception:
    import sqlite3

    return kind("UPDATE runs SET ...", {}, sqlite3.OperationalError("database is locked"))  # type: ignore[call-arg]


def test_any_errors_retryable_flag_decides_not_only_bus_errors() -> None:
    from headrace_artifacts import ArtifactNotFound, ArtifactStoreUnavailable
    from headrace_contracts import ContractError

    policy = RetryPolicy()
    assert decide(policy, 1, ArtifactStoreUnavailable("S3 at :8333 did not answer")) == Nak(0.5)
    assert decide(policy, 1, ArtifactNotFound("s3://b/k")) == DeadLetter(
        "rejected", "ArtifactNotFound: no artifact at s3://b/k"
    )
    assert isinstance(decide(policy, 1, ContractError("bad")), DeadLetter)

    class Flagged(ValueError):  # the attribute wins over the type
        retryable = True

    assert decide(policy, 1, Flagged("try again")) == Nak(0.5)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad literal"),
        KeyError("component"),
        TypeError("unsupported operand"),
        ZeroDivisionError("division by zero"),
        AttributeError("no attribute"),
        AssertionError("invariant"),
        NotImplementedError("later"),
    ],
)
def test_programming_and_data_errors_are_dead_lettered_at_once(error: Exception) -> None:
    action = decide(RetryPolicy(), 1, error)
    assert isinstance(action, DeadLetter)
    assert action.reason == "rejected"
    assert action.error.startswith(type(error).__name__)


@pytest.mark.parametrize(
    "error",
    [ConnectionError("reset"), TimeoutError("slow"), OSError("disk"), RuntimeError("?")],
)
def test_transient_and_unknown_errors_are_retried(error: Exception) -> None:
    assert decide(RetryPolicy(), 1, error) == Nak(0.5)


def test_sqlalchemy_errors_by_kind() -> None:
    from sqlalchemy import exc

    from headrace_bus import is_retryable

    assert is_retryable(_sqlalchemy_error(exc.OperationalError))  # database is locked
    assert is_retryable(_sqlalchemy_error(exc.IntegrityError))  # a replica was first
    assert is_retryable(_sqlalchemy_error(exc.InterfaceError))
    assert not is_retryable(_sqlalchemy_error(exc.ProgrammingError))
    assert not is_retryable(_sqlalchemy_error(exc.DataError))
    assert not is_retryable(exc.NoResultFound("no row"))
    lost = _sqlalchemy_error(exc.ProgrammingError)
    lost.connection_invalidated = True  # type: ignore[attr-defined]
    assert is_retryable(lost)


def test_a_dead_letter_summary_is_the_error_s_first_line() -> None:
    from headrace_bus import DeadLetter

    sql = "failed 2 deliveries; last error OperationalError: (sqlite3.OperationalError) locked"
    dead = DeadLetter("exhausted", sql + "\n[SQL: INSERT INTO t VALUES (?)]\n[parameters: (1,)]")
    assert dead.summary == sql
    assert DeadLetter("rejected", "").summary == "rejected"
    assert len(DeadLetter("rejected", "x" * 900).summary) == 500
