"""The ASGI app: Open Inference Protocol v2 and KServe v1 REST over one `ModelHost`.

``create_app(settings)`` builds it (``uvicorn`` runs it; any ASGI server can). Every error
is ``{"error": "..."}`` with the status its `ModelServerError` carries; an unexpected one is a
500 with its message, logged with its traceback, never sent to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import ModelServerError, PayloadTooLarge
from .host import ModelHost
from .settings import ServerSettings
from .signature import check_inputs
from .telemetry import TelemetryMiddleware, build_meter_provider, default_tracer_provider
from .v1 import decode_instances, encode_predictions
from .v2 import HEADER_LENGTH, decode_request, encode_response

__all__ = ["SERVER_NAME", "create_app"]

log = logging.getLogger("headrace.modelserver")

SERVER_NAME = "headrace-model-server"
JSON = "application/json"
Endpoint = Callable[[Request], Awaitable[Response]]


def _server_version() -> str:
    try:
        return version("headrace-modelserver")
    except PackageNotFoundError:
        return "0"


def json_response(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=JSON)


def error_response(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


def _guarded(endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ModelServerError as exc:
            return error_response(exc.message, exc.status)
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.url.path)
            return error_response(f"internal error: {type(exc).__name__}: {exc}", 500)

    return guarded


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or `PayloadTooLarge` as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    too_large = f"the request body is over the server's limit of {limit} bytes"
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            raise PayloadTooLarge(too_large)
        return await request.body()
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


class Routes:
    """The protocol's endpoints over one model."""

    def __init__(self, host: ModelHost) -> None:
        self.host = host
        self.limit = host.settings.max_payload_bytes
        self.metadata = {
            "name": SERVER_NAME,
            "version": _server_version(),
            "extensions": ["binary_tensor_data"],
        }

    # v2 ------------------------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        return json_response({"live": True})

    async def server_ready(self, request: Request) -> Response:
        self.host.check(self.host.name)
        return json_response({"ready": True})

    async def server_metadata(self, request: Request) -> Response:
        return json_response(self.metadata)

    async def model_metadata(self, request: Request) -> Response:
        params = request.path_params
        model = self.host.check(params["name"], params.get("version"))
        return json_response(
            {
                "name": self.host.name,
                "versions": [self.host.version],
                "platform": model.platform,
                "inputs": [spec.metadata() for spec in model.signature.inputs],
                "outputs": [spec.metadata() for spec in model.signature.outputs],
            }
        )

    async def model_ready(self, request: Request) -> Response:
        params = request.path_params
        self.host.check(params["name"], params.get("version"))
        return json_response({"name": self.host.name, "ready": True})

    async def infer(self, request: Request) -> Response:
        params = request.path_params
        model = self.host.check(params["name"], params.get("version"))
        body = await read_body(request, self.limit)
        decoded = decode_request(body, request.headers.get(HEADER_LENGTH))
        check_inputs(model.signature, decoded.inputs, decoded.datatypes)
        outputs = await self.host.predict(decoded.inputs)
        content, header_length = encode_response(
            self.host.name, self.host.version, decoded, outputs
        )
        if header_length is None:
            return Response(content, media_type=JSON)
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(header_length)},
        )

    # v1 ------------------------------------------------------------------------------

    async def v1_models(self, request: Request) -> Response:
        return json_response({"models": [self.host.name]})

    async def v1_model(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            self.host.check(name)
        except ModelServerError as exc:
            if exc.status == 404:
                raise
        return json_response({"name": name, "ready": self.host.ready})

    async def v1_predict(self, request: Request) -> Response:
        model = self.host.check(request.path_params["name"])
        body = await read_body(request, self.limit)
        inputs, datatypes = decode_instances(body, model.signature)
        check_inputs(model.signature, inputs, datatypes)
        outputs = await self.host.predict(inputs)
        return Response(encode_predictions(outputs), media_type=JSON)


def _routes(r: Routes) -> list[Route]:
    g = _guarded
    v2 = "/v2/models/{name}"
    v2v = "/v2/models/{name}/versions/{version}"
    return [  # the hot routes first: Starlette tries them in order
        Route(f"{v2}/infer", g(r.infer), methods=["POST"]),
        Route("/v1/models/{name}:predict", g(r.v1_predict), methods=["POST"]),
        Route("/v2/health/live", g(r.live), methods=["GET"]),
        Route("/v2/health/ready", g(r.server_ready), methods=["GET"]),
        Route("/v2", g(r.server_metadata), methods=["GET"]),
        Route(v2, g(r.model_metadata), methods=["GET"]),
        Route(v2v, g(r.model_metadata), methods=["GET"]),
        Route(f"{v2}/ready", g(r.model_ready), methods=["GET"]),
        Route(f"{v2v}/ready", g(r.model_ready), methods=["GET"]),
        Route(f"{v2v}/infer", g(r.infer), methods=["POST"]),
        Route("/v1/models", g(r.v1_models), methods=["GET"]),
        Route("/v1/models/{name}", g(r.v1_model), methods=["GET"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(f"no such endpoint: {request.method} {request.url.path}", 404)
    return error_response(f"{request.method} {request.url.path}: {exc.detail}", exc.status_code)


def create_app(
    settings: ServerSettings,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Starlette:
    """The ASGI app serving ``settings.model_name``; the model loads when the app starts."""
    host = ModelHost(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loading = asyncio.create_task(host.start())  # liveness answers while it loads
        yield
        loading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loading

    telemetry = Middleware(
        TelemetryMiddleware,
        model=host,
        tracer_provider=tracer_provider or default_tracer_provider(),
        meter_provider=meter_provider or build_meter_provider(),
    )
    app = Starlette(
        routes=_routes(Routes(host)),
        middleware=[telemetry],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.host = host
    return app
