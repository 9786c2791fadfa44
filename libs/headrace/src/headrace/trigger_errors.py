"""What the client's trigger calls raise (all :class:`~headrace.ClientError`s).

::

    TriggerError                root of the trigger errors
    ├── InvalidTrigger          refused before anything was sent: a filter that is not CEL,
    │                           a subject outside headrace.ext., ... (also a ValueError)
    ├── TriggerRejectedError    the scheduler refused it (also a ValueError); ``reason``
    └── TriggerNotFound         no trigger of that name in the namespace (also a LookupError)
"""

from __future__ import annotations

from .run_errors import ClientError

__all__ = ["InvalidTrigger", "TriggerError", "TriggerNotFound", "TriggerRejectedError"]


class TriggerError(ClientError):
    pass


class InvalidTrigger(TriggerError, ValueError):
    pass


class TriggerRejectedError(TriggerError, ValueError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"trigger {name!r} refused by the scheduler: {reason}")
        self.reason = reason


class TriggerNotFound(TriggerError, LookupError):
    pass
