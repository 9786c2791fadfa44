"""``POST /api/v1/models/{name}/promote``: publish ``PromoteModel`` and answer with the
registry's decision, ``ModelPromoted`` (200) or ``PromotionRejected`` (409 with its reason),
matched by the command's ``request_id`` on the live events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from headrace_contracts import ModelPromoted, PromoteModel, PromotionRejected
from headrace_contracts.registry import DEFAULT_NAMESPACE
from headrace_pipelines.model_conditions import RequirementError, compile_requirement
from headrace_pipelines.model_refs import (
    ModelRefError,
    check_alias,
    check_model_name,
    check_namespace,
)

from .asking import publish_or_503
from .deps import ApiDeps
from .errors import ApiError, bad_request, refusals
from .live import LiveEvent
from .routes import known_parameters

OUTCOMES = (ModelPromoted.ce_type(), PromotionRejected.ce_type())


class PromoteBody(BaseModel):
    version: int = Field(ge=1, description="the version to point the alias at")
    alias: str = "production"
    namespace: str = DEFAULT_NAMESPACE
    require: str = Field(
        default="", description="CEL condition the version must meet, e.g. metrics.accuracy >= 0.9"
    )


class PromotionOutcome(BaseModel):
    """The registry's decision: ``promoted``, and ``reason`` when it refused."""

    promoted: bool
    model_name: str
    version: int
    alias: str
    namespace: str = DEFAULT_NAMESPACE
    reason: str = Field(default="", description="why the registry refused it")
    previous_version: int | None = Field(default=None, description="the alias's version before")
    current_version: int | None = Field(
        default=None, description="refused: the version the alias still points at"
    )
    uri: str = ""


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.post(
        "/models/{name}/promote",
        response_model=PromotionOutcome,
        tags=["models"],
        responses={
            **refusals(
                e400="the name, alias, namespace or condition is not valid",
                e503="no answer from NATS or the registry",
            ),
            409: {"model": PromotionOutcome, "description": "the registry refused it"},
        },
    )
    async def promote(
        name: Annotated[str, Path(description="the registered model's name")], body: PromoteBody
    ) -> PromotionOutcome | JSONResponse:
        """Point ``alias`` at ``version`` if the registry accepts it (and ``require`` holds)."""
        try:
            check_model_name(name)
            check_alias(body.alias)
            check_namespace(body.namespace)
            if body.require:
                compile_requirement(body.require)
        except (ModelRefError, RequirementError) as exc:
            raise bad_request(str(exc)) from None
        bus = deps.need_bus()
        hub = deps.need_live()
        command = PromoteModel(
            model_name=name,
            version=body.version,
            alias=body.alias,
            namespace=body.namespace,
            require=body.require,
            requested_by="dashboard",
            request_id=uuid.uuid4().hex,
        )

        def answers(event: LiveEvent) -> bool:
            data = event.data if isinstance(event.data, dict) else {}
            return event.type in OUTCOMES and data.get("request_id") == command.request_id

        with hub.listen(answers) as listener:
            await publish_or_503(bus, command)
            try:
                async with asyncio.timeout(deps.answer_timeout):
                    event = await listener.queue.get()
            except TimeoutError:
                event = None
        if event is None:
            raise ApiError(
                503,
                f"PromoteModel for model {name!r} was sent, but the registry did not answer "
                f"within {deps.answer_timeout:g}s: it may be busy; check the model's "
                f"versions later (GET /api/v1/models/{name}/versions)",
            )
        data = event.data
        outcome = PromotionOutcome(
            promoted=event.type == ModelPromoted.ce_type(),
            model_name=name,
            version=body.version,
            alias=body.alias,
            namespace=body.namespace,
            reason=str(data.get("reason", "")),
            previous_version=data.get("previous_version"),
            current_version=data.get("current_version"),
            uri=str(data.get("uri", "")),
        )
        if not outcome.promoted:
            return JSONResponse(outcome.model_dump(), status_code=409)
        return outcome

    return api
