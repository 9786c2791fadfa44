"""Errors raised by the contracts library.

::

    ContractError                 the root; ``retryable`` is always False here
    ├── InvalidCloudEvent         headers or data are not a CloudEvent 1.0 in binary mode
    ├── UnknownMessageType        a well-formed CloudEvent whose type is not in the catalogue
    └── InvalidMessageData        the data does not validate against the message model
"""

from __future__ import annotations


class ContractError(Exception):
    """Root of every contracts error. Nothing here succeeds on retry."""

    retryable = False


class InvalidCloudEvent(ContractError):
    """The message is not a CloudEvent 1.0 in binary mode."""


class UnknownMessageType(ContractError):
    """The CloudEvent ``type`` is not declared in the catalogue."""

    def __init__(self, ce_type: str, known: list[str]) -> None:
        self.ce_type = ce_type
        hint = ", ".join(sorted(known)[:8])
        super().__init__(
            f"unknown CloudEvent type {ce_type!r}: publish one of the catalogued types "
            f"(docs/asyncapi.json), e.g. {hint}"
        )


class InvalidMessageData(ContractError):
    """The data of a known type fails its model's validation."""

    def __init__(self, ce_type: str, detail: str) -> None:
        self.ce_type = ce_type
        self.detail = detail
        super().__init__(f"data of {ce_type!r} does not match its contract: {detail}")
