"""The client's InferenceService calls (mixed into :class:`headrace.Client`).

::

    with Client() as client:
        (isvc,) = client.apply_inference_services("iris.yaml")
        ready = client.wait_inference_service(isvc.name, timeout=120)
        print(ready.url, [(t.revision, t.percent) for t in ready.traffic])

The YAML is checked here first (every problem, with its document and path); each
``ApplyInferenceService`` is answered by the serving service, which records it and moves
it to ``Ready`` or ``Failed`` (with its error). A command the serving service does not carry
out (a shift without a canary, a delete or shift it gave up on) is answered by
``InferenceServiceRejected``: the call raises `InferenceServiceRejectedError` with its reason.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from headrace_bus import Bus
from headrace_contracts import (
    ApplyInferenceService,
    DeleteInferenceService,
    GetInferenceService,
    InferenceServiceDetail,
    InferenceServiceList,
    InferenceServiceView,
    ListInferenceServices,
    Message,
    Query,
    ShiftTraffic,
)
from headrace_contracts.kubeflow import (
    InferenceServiceSpec,
    ManifestError,
    is_inference_service,
    load_inference_services,
    manifest_digest,
)

from .job_errors import ManifestRejected
from .serving_rejections import InferenceServiceRejectedError, Rejections

__all__ = [
    "InferenceServiceFailedError",
    "InferenceServiceNotFound",
    "InferenceServiceRejectedError",
    "InferenceServiceTimeout",
    "ServingCalls",
    "holds_inference_services",
    "read_inference_services",
]

T = TypeVar("T")
POLL_SECONDS = 0.2
ANSWERER = "the serving service"


class InferenceServiceNotFound(LookupError):
    def __init__(self, name: str, namespace: str) -> None:
        super().__init__(
            f"no InferenceService {namespace}/{name} (list them with `headrace serve list`)"
        )


class InferenceServiceFailedError(RuntimeError):
    def __init__(self, view: InferenceServiceView) -> None:
        self.service = view
        super().__init__(f"InferenceService {view.namespace}/{view.name} failed: {view.error}")


class InferenceServiceTimeout(TimeoutError):
    def __init__(self, view: InferenceServiceView | None, name: str, timeout: float) -> None:
        self.service = view
        state = view.state if view else "not recorded"
        super().__init__(
            f"InferenceService {name} is still {state} after {timeout:g}s: see "
            f"`headrace serve get {name}`"
        )


def holds_inference_services(text: str) -> bool:
    """Whether a YAML text has an InferenceService document (what routes ``headrace apply``)."""
    try:
        return any(is_inference_service(doc) for doc in yaml.safe_load_all(text))
    except yaml.YAMLError:
        return False


def read_inference_services(
    source: str | Path, namespace: str = "default"
) -> list[tuple[dict[str, Any], InferenceServiceSpec]]:
    """The InferenceServices of a YAML file, each as its JSON-ready document (namespace filled
    in) and its spec; `ManifestRejected` lists every problem."""
    path = Path(source)
    where = str(source)
    folder: Path | None = None
    if isinstance(source, Path) or ("\n" not in where and path.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ManifestRejected(
                where, f"cannot be read ({error.strerror}): check the path"
            ) from None
        folder = path.resolve().parent
    else:
        text, where = str(source), "the YAML"
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        if not all(is_inference_service(doc) for doc in documents):
            raise ManifestRejected(
                where,
                "mixes InferenceServices with other kinds: apply the InferenceServices from a "
                "file of their own",
            )
        specs = load_inference_services(text)
    except ManifestError as error:
        raise ManifestRejected(where, str(error), error.problems) from None
    except yaml.YAMLError as error:
        raise ManifestRejected(where, f"is not valid YAML: {error}") from None
    found = []
    for document, spec in zip(documents, specs, strict=True):
        document = json.loads(json.dumps(document, default=str))
        metadata = document.setdefault("metadata", {})
        given = metadata.get("namespace")
        if given and given != namespace and namespace != "default":
            raise ManifestRejected(
                where,
                f"InferenceService {spec.name}: metadata.namespace is {given!r} but --namespace "
                f"is {namespace!r}: make them agree, or leave one out",
            )
        metadata["namespace"] = given or namespace
        if folder is not None and spec.storage.scheme == "path":
            _anchor(document, spec.storage.uri, folder)
        found.append((document, spec.model_copy(update={"namespace": given or namespace})))
    return found


def _anchor(document: dict[str, Any], uri: str, folder: Path) -> None:
    """A relative ``storageUri`` path is the file's folder's, as a job's working directory."""
    if Path(uri).is_absolute():
        return
    document["spec"]["predictor"]["model"]["storageUri"] = str(folder / uri)


class ServingCalls:
    """InferenceService calls of :class:`headrace.Client`; they need its loop and bus."""

    if TYPE_CHECKING:
        timeout: float

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _publish(self, message: Message) -> None: ...
        async def _ask(self, query: Query, who: str = ...) -> Any: ...
        async def _connected(self) -> Bus: ...

    def apply_inference_services(
        self, source: str | Path, *, namespace: str = "default", timeout: float | None = None
    ) -> list[InferenceServiceView]:
        """Send each InferenceService of a YAML file and return each once the serving service
        has recorded that document (its state may still be Pending)."""
        applied = []
        for document, spec in read_inference_services(source, namespace):
            command = ApplyInferenceService(
                service_name=spec.name,
                namespace=spec.namespace,
                spec=document,
                request_id=uuid.uuid4().hex,
            )
            with self._watching(command.request_id) as rejections:
                self._call(self._publish(command))
                applied.append(
                    self._until_service(
                        spec.name,
                        spec.namespace,
                        manifest_digest(document),
                        (),
                        timeout,
                        rejections,
                        request_id=command.request_id,
                    )
                )
        return applied

    def get_inference_service(
        self, name: str, *, namespace: str = "default"
    ) -> InferenceServiceView:
        found = self._call(self._find_service(name, namespace))
        if found is None:
            raise InferenceServiceNotFound(name, namespace)
        return found

    def list_inference_services(self, *, namespace: str = "default") -> list[InferenceServiceView]:
        """Every InferenceService of ``namespace`` ("" for all), by name."""
        reply = self._call(self._ask(ListInferenceServices(namespace=namespace), ANSWERER))
        assert isinstance(reply, InferenceServiceList)
        return list(reply.services)

    def wait_inference_service(
        self, name: str, *, namespace: str = "default", timeout: float = 300.0
    ) -> InferenceServiceView:
        """Until the service is Ready (returned) or Failed (`InferenceServiceFailedError`)."""
        view = self._until_service(name, namespace, "", ("Ready", "Failed"), timeout)
        if view.state == "Failed":
            raise InferenceServiceFailedError(view)
        return view

    def delete_inference_service(
        self, name: str, *, namespace: str = "default"
    ) -> InferenceServiceView:
        found = self.get_inference_service(name, namespace=namespace)
        command = DeleteInferenceService(
            service_name=name, namespace=namespace, request_id=uuid.uuid4().hex
        )
        with self._watching(command.request_id) as rejections:
            self._call(self._publish(command))
            deadline = time.monotonic() + self.timeout
            while self._call(self._find_service(name, namespace)) is not None:
                rejections.check()
                if time.monotonic() > deadline:
                    raise InferenceServiceTimeout(found, name, self.timeout)
                time.sleep(POLL_SECONDS)
        return found

    def shift_traffic(
        self, name: str, canary_percent: int, *, namespace: str = "default"
    ) -> InferenceServiceView:
        """Give the canary revision ``canary_percent`` of requests (100 promotes it, 0 rolls it
        back); returns the service once the split is recorded."""
        if not 0 <= canary_percent <= 100:
            raise ValueError(f"--canary-percent {canary_percent} is outside 0-100: give 0 to 100")
        found = self.get_inference_service(name, namespace=namespace)
        canary = [t for t in found.traffic if t.tag == "canary"]
        if not canary:
            raise ValueError(
                f"InferenceService {namespace}/{name} has no canary revision to shift traffic "
                "to: apply a changed spec with canaryTrafficPercent first"
            )
        command = ShiftTraffic(
            service_name=name,
            canary_percent=canary_percent,
            namespace=namespace,
            request_id=uuid.uuid4().hex,
        )
        with self._watching(command.request_id) as rejections:
            self._call(self._publish(command))
            deadline = time.monotonic() + self.timeout
            while True:
                rejections.check()
                view = self.get_inference_service(name, namespace=namespace)
                if view.generation > found.generation and not rejections.found:
                    return view
                if time.monotonic() > deadline:
                    raise InferenceServiceTimeout(view, name, self.timeout)
                time.sleep(POLL_SECONDS)

    def _until_service(
        self,
        name: str,
        namespace: str,
        digest: str,
        states: tuple[str, ...],
        timeout: float | None,
        rejections: Rejections | None = None,
        *,
        request_id: str = "",
    ) -> InferenceServiceView:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        view: InferenceServiceView | None = None
        while True:
            if rejections is not None:
                rejections.check()
            view = self._call(self._find_service(name, namespace))
            if (
                view is not None
                and (not digest or view.spec_digest == digest)
                and (not request_id or view.request_id == request_id)
                and (not states or view.state in states)
            ):
                return view
            if time.monotonic() > deadline:
                raise InferenceServiceTimeout(view, name, limit)
            time.sleep(POLL_SECONDS)

    @contextlib.contextmanager
    def _watching(self, request_id: str) -> Iterator[Rejections]:
        """`Rejections` of ``request_id`` while the block sends the command and waits."""
        rejections = Rejections(request_id)

        async def start() -> None:
            await rejections.start(await self._connected())

        self._call(start())
        try:
            yield rejections
        finally:
            self._call(rejections.stop())

    async def _find_service(self, name: str, namespace: str) -> InferenceServiceView | None:
        reply = await self._ask(GetInferenceService(name=name, namespace=namespace), ANSWERER)
        assert isinstance(reply, InferenceServiceDetail)
        return reply.service
