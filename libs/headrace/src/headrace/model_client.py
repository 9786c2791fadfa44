"""The client's model registry calls (mixed into :class:`headrace.Client`).

::

    with Client() as client:
        v = client.register_model("iris", "file:///.../model", metrics={"accuracy": 0.97})
        client.promote_model("iris", v.version, "production", require="metrics.accuracy >= 0.95")
        uri = client.resolve_model("models:/iris@production")

Commands (``RegisterModel``, ``PromoteModel``, ``ArchiveModelVersion``) go out on the bus
with a fresh ``request_id``; the call waits for the metadata service's event that repeats it.
Questions are request/reply queries to the metadata service.
"""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from headrace_bus import Bus, NoResponders, RequestFailed, RequestTimeout, first_answer
from headrace_contracts import (
    ArchiveModelVersion,
    ArchiveRejected,
    GetModel,
    ListModels,
    ListModelVersions,
    Message,
    ModelDetail,
    ModelList,
    ModelPromoted,
    ModelVersionArchived,
    ModelVersionList,
    ModelVersionRegistered,
    ModelVersionView,
    PromoteModel,
    PromotionRejected,
    Query,
    RegisteredModelView,
    RegisterModel,
    RegistrationRejected,
    ResolvedModel,
    ResolveModel,
)
from headrace_contracts.registry import DEFAULT_NAMESPACE
from headrace_pipelines.model_conditions import RequirementError, compile_requirement
from headrace_pipelines.model_refs import (
    ModelRefError,
    check_alias,
    check_model_name,
    check_namespace,
    parse_model_uri,
)

from .model_errors import (
    InvalidModelRequest,
    ModelNotFound,
    ModelRegistryError,
    PromotionRejectedError,
    RegistrationRejectedError,
)
from .run_errors import ClientError, PlatformUnavailable

__all__ = ["ModelRegistryCalls", "check_requirement"]

T = TypeVar("T")


def check_requirement(text: str) -> None:
    """:class:`InvalidModelRequest` naming the position when ``text`` is not a valid
    promotion condition (checked here, before anything is published)."""
    try:
        compile_requirement(text)
    except RequirementError as exc:
        raise InvalidModelRequest(str(exc), column=exc.column) from None


def _checked(*checks: tuple[Any, str]) -> None:
    try:
        for check, value in checks:
            check(value)
    except ModelRefError as exc:
        raise InvalidModelRequest(str(exc)) from None


class ModelRegistryCalls:
    """Registry calls of :class:`headrace.Client`; they need its loop and bus."""

    answer_timeout: float = 15.0
    """Seconds a command waits for the metadata service's answer."""

    if TYPE_CHECKING:
        nats_url: str
        timeout: float

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _connected(self) -> Bus: ...
        async def _publish(self, message: Message) -> None: ...

    # commands --------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        uri: str,
        *,
        digest: str = "",
        framework: str = "",
        metrics: Mapping[str, float] | None = None,
        properties: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        description: str = "",
        tags: Sequence[str] = (),
        run_id: str = "",
        step_id: str = "",
        namespace: str = DEFAULT_NAMESPACE,
    ) -> ModelVersionView:
        """Register ``uri`` as a version of model ``name`` (the same URI and digest again is
        the same version); returns the version as the registry holds it."""
        _checked((check_model_name, name), (check_namespace, namespace))
        command = RegisterModel(
            model_name=name,
            uri=uri,
            digest=digest,
            framework=framework,
            metrics=dict(metrics or {}),
            metadata=dict(properties or {}),
            labels=dict(labels or {}),
            description=description,
            tags=list(tags),
            run_id=run_id,
            step_id=step_id,
            namespace=namespace,
            request_id=uuid.uuid4().hex,
        )
        answer = self._call(self._command(command, (ModelVersionRegistered, RegistrationRejected)))
        if isinstance(answer, RegistrationRejected):
            raise RegistrationRejectedError(name, answer.reason)
        assert isinstance(answer, ModelVersionRegistered)
        return self.get_model_version(f"models:/{name}/{answer.version}", namespace=namespace)

    def promote_model(
        self,
        name: str,
        version: int,
        alias: str = "production",
        *,
        require: str = "",
        namespace: str = DEFAULT_NAMESPACE,
        requested_by: str = "",
    ) -> ModelPromoted:
        """Point ``alias`` at ``version`` if ``require`` (CEL over the version's metrics and
        properties) holds; :class:`PromotionRejectedError` with the reason if refused."""
        _checked((check_model_name, name), (check_alias, alias), (check_namespace, namespace))
        if require:
            check_requirement(require)
        command = PromoteModel(
            model_name=name,
            version=version,
            alias=alias,
            require=require,
            namespace=namespace,
            requested_by=requested_by,
            request_id=uuid.uuid4().hex,
        )
        answer = self._call(self._command(command, (ModelPromoted, PromotionRejected)))
        if isinstance(answer, PromotionRejected):
            raise PromotionRejectedError(
                name, version, alias, answer.reason, answer.current_version
            )
        assert isinstance(answer, ModelPromoted)
        return answer

    def archive_model_version(
        self, name: str, version: int, *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        """Archive a version no alias points at; :class:`ModelRegistryError` if refused."""
        _checked((check_model_name, name), (check_namespace, namespace))
        command = ArchiveModelVersion(
            model_name=name, version=version, namespace=namespace, request_id=uuid.uuid4().hex
        )
        answer = self._call(self._command(command, (ModelVersionArchived, ArchiveRejected)))
        if isinstance(answer, ArchiveRejected):
            raise ModelRegistryError(f"archiving refused: {answer.reason}")

    # questions -------------------------------------------------------------------------

    def resolve_model(self, uri: str, *, namespace: str = DEFAULT_NAMESPACE) -> str:
        """The artifact URI that ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` names."""
        return self.get_model_version(uri, namespace=namespace).uri

    def get_model_version(
        self, uri: str, *, namespace: str = DEFAULT_NAMESPACE
    ) -> ModelVersionView:
        """The version ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` names."""
        try:
            parse_model_uri(uri)
        except ModelRefError as exc:
            raise InvalidModelRequest(str(exc)) from None
        reply = self._call(self._ask_registry(ResolveModel(uri=uri, namespace=namespace)))
        assert isinstance(reply, ResolvedModel)
        if reply.version is None:
            raise ModelNotFound(reply.reason)
        return reply.version

    def get_model(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> RegisteredModelView:
        reply = self._call(self._ask_registry(GetModel(name=name, namespace=namespace)))
        assert isinstance(reply, ModelDetail)
        if reply.model is None:
            raise ModelNotFound(_no_model(name, namespace))
        return reply.model

    def list_models(
        self, *, namespace: str = DEFAULT_NAMESPACE, limit: int = 100
    ) -> list[RegisteredModelView]:
        reply = self._call(self._ask_registry(ListModels(namespace=namespace, limit=limit)))
        assert isinstance(reply, ModelList)
        return list(reply.models)

    def list_model_versions(
        self,
        name: str,
        *,
        state: str = "",
        namespace: str = DEFAULT_NAMESPACE,
        limit: int = 100,
    ) -> list[ModelVersionView]:
        """A model's versions, newest first (``state``: LIVE or ARCHIVED)."""
        if state and state.upper() not in ("LIVE", "ARCHIVED"):
            raise InvalidModelRequest(f"unknown version state {state!r}: LIVE or ARCHIVED")
        query = ListModelVersions(name=name, namespace=namespace, state=state.upper(), limit=limit)
        reply = self._call(self._ask_registry(query))
        assert isinstance(reply, ModelVersionList)
        if not reply.found:
            raise ModelNotFound(_no_model(name, namespace))
        return list(reply.versions)

    # on the loop -----------------------------------------------------------------------

    async def _ask_registry(self, query: Query) -> Any:
        bus = await self._connected()
        try:
            return await bus.request(query, timeout=self.timeout)
        except RequestTimeout:
            raise PlatformUnavailable(
                self.nats_url,
                f"the metadata service on NATS at {self.nats_url} did not answer within "
                f"{self.timeout:g}s: it may be busy or down; check `headrace status`",
            ) from None
        except NoResponders:
            raise PlatformUnavailable(
                self.nats_url,
                f"no metadata service answers on NATS at {self.nats_url}: start the platform "
                "with `headrace up`",
            ) from None
        except RequestFailed as exc:
            raise ClientError(f"the metadata service could not answer: {exc}") from None

    async def _command(
        self,
        command: RegisterModel | PromoteModel | ArchiveModelVersion,
        answers: tuple[type[Message], ...],
    ) -> Message:
        """Publish ``command`` and return the first of ``answers`` repeating its request id."""
        await self._ask_registry(ListModels(limit=1))  # is a metadata service there at all?
        bus = await self._connected()
        try:
            return await first_answer(
                bus,
                lambda: self._publish(command),
                answers,
                field="request_id",
                value=command.request_id,
                timeout=self.answer_timeout,
            )
        except TimeoutError:
            raise ModelRegistryError(
                f"{type(command).__name__} for model {command.model_name!r} was sent, but "
                f"the metadata service did not answer within {self.answer_timeout:g}s: it "
                "may be busy; check with `headrace model versions "
                f"{command.model_name}` later"
            ) from None


def _no_model(name: str, namespace: str) -> str:
    return (
        f"no model {name!r} is registered in namespace {namespace!r}: list them with "
        "`headrace model list`"
    )
