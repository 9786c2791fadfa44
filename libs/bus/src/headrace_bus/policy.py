"""What to do with a delivered message once its handler has run. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import is_retryable


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded redelivery with exponential backoff.

    A message is handled at most ``max_deliver`` times; the delay before delivery ``n + 1``
    is ``initial * factor ** (n - 1)`` seconds, capped at ``maximum``.
    """

    max_deliver: int = 5
    backoff_initial: float = 0.5
    backoff_factor: float = 2.0
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if self.max_deliver < 1:
            raise ValueError(f"max_deliver must be at least 1, got {self.max_deliver}")
        if self.backoff_initial < 0 or self.backoff_factor < 1 or self.backoff_max < 0:
            raise ValueError(
                "backoff_initial and backoff_max must be >= 0 and backoff_factor >= 1, got "
                f"{self.backoff_initial}, {self.backoff_max}, {self.backoff_factor}"
            )

    def delay(self, delivered: int) -> float:
        exponent = max(delivered - 1, 0)
        return float(min(self.backoff_initial * self.backoff_factor**exponent, self.backoff_max))


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nak:
    delay: float


@dataclass(frozen=True)
class DeadLetter:
    reason: str  # "invalid", "rejected" (not retryable) or "exhausted" (retries used up)
    error: str

    @property
    def summary(self) -> str:
        """The error's first line, at most 500 characters: what a user is shown on the thing
        the message concerned (a database error's SQL and parameters follow on other lines,
        for the log and the dead-letter stream)."""
        first = self.error.strip().splitlines()[0] if self.error.strip() else self.reason
        return first if len(first) <= 500 else first[:499] + "…"


Action = Ack | Nak | DeadLetter


def decide(policy: RetryPolicy, delivered: int, error: BaseException | None) -> Action:
    """The action for a message delivered ``delivered`` times whose handler raised ``error``.

    An error that is not retryable (:func:`headrace_bus.errors.is_retryable`) is
    dead-lettered at once; a retryable one is redelivered with backoff until the message has
    been delivered ``max_deliver`` times.
    """
    if error is None:
        return Ack()
    text = f"{type(error).__name__}: {error}"
    if not is_retryable(error):
        return DeadLetter("rejected", text)
    if delivered >= policy.max_deliver:
        return DeadLetter("exhausted", f"failed {delivered} deliveries; last error {text}")
    return Nak(policy.delay(delivered))
