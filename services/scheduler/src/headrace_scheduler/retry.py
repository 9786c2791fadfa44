"""KFP ``retryPolicy``: how many attempts and how long to wait before each retry."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def seconds(duration: str | None, default: float = 0.0) -> float:
    """A protobuf Duration as JSON (``"1.5s"``) in seconds."""
    if not duration:
        return default
    match = _DURATION.match(str(duration))
    return float(match.group(1)) if match else default


def max_attempts(policy: dict[str, Any]) -> int:
    return 1 + max(int(policy.get("maxRetryCount") or 0), 0)


def backoff(policy: dict[str, Any], failed_attempt: int) -> float:
    """Seconds to wait after attempt ``failed_attempt`` (1-based) failed."""
    base = seconds(policy.get("backoffDuration"))
    factor = float(policy.get("backoffFactor") or 2.0)
    cap = seconds(policy.get("backoffMaxDuration"), 3600.0)
    return min(base * factor ** (failed_attempt - 1), cap)
