"""When the bus gives up on a registry command (an error that is not retryable, or retries
used up), its sender still gets an answer: the command's rejection event, with the error.
Without it a client waiting on a promotion would only time out, and the command would live
on in the dead-letter stream alone."""

from __future__ import annotations

from typing import Any

from headrace_bus import DeadLetter
from headrace_contracts import (
    ArchiveModelVersion,
    ArchiveRejected,
    PromoteModel,
    PromotionRejected,
    RegisterModel,
    RegistrationRejected,
)
from headrace_runtime import HandlerContext

__all__ = ["archive_given_up", "promotion_given_up", "registration_given_up"]

KEY = "given-up"


def _reason(what: str, dead: DeadLetter) -> str:
    return f"the registry could not {what}: {dead.error} (its log has the details; try again)"


async def promotion_given_up(
    command: PromoteModel, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
    rejected = PromotionRejected(
        model_name=command.model_name,
        version=command.version,
        alias=command.alias,
        namespace=command.namespace,
        reason=_reason("decide the promotion", dead),
        request_id=command.request_id,
    )
    ctx.publish(rejected, key=KEY)


async def registration_given_up(
    command: RegisterModel, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
    rejected = RegistrationRejected(
        model_name=command.model_name,
        uri=command.uri,
        namespace=command.namespace,
        reason=_reason("record the version", dead),
        request_id=command.request_id,
    )
    ctx.publish(rejected, key=KEY)


async def archive_given_up(
    command: ArchiveModelVersion, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
    rejected = ArchiveRejected(
        model_name=command.model_name,
        version=command.version,
        namespace=command.namespace,
        reason=_reason("archive the version", dead),
        request_id=command.request_id,
    )
    ctx.publish(rejected, key=KEY)
