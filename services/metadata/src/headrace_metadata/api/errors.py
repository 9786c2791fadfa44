"""Every answer that is not a success is ``{"error": "<reason and fix>"}``, never a trace.

:class:`ApiError` is what routes raise; the handlers installed by :func:`install` turn it,
FastAPI's validation errors, unknown paths and any unexpected exception into that JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

DOCS = "/api/v1/docs"


class ApiError(Exception):
    """A request the API refuses: ``status`` and the reason shown to the caller."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ErrorBody(BaseModel):
    """What every refused request answers."""

    error: str


def refusals(**described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of refusals, e.g. ``refusals(e404="no such run")``."""
    return {
        int(code.removeprefix("e")): {"model": ErrorBody, "description": text}
        for code, text in described.items()
    }


def bad_request(reason: str) -> ApiError:
    return ApiError(400, reason)


def not_found(reason: str) -> ApiError:
    return ApiError(404, reason)


def error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def validation_reason(problem: dict[str, Any]) -> str:
    """One of FastAPI's validation problems as a sentence naming the parameter and the fix."""
    where = list(problem.get("loc", ()))
    in_body = bool(where) and where[0] == "body"
    loc = [str(part) for part in where if part not in ("query", "path", "body")]
    name = ".".join(loc) or ("body" if in_body else "request")
    what = "request body field" if in_body else "query parameter"
    msg = str(problem.get("msg", "is not valid"))
    if problem.get("type") == "missing":
        if in_body:
            return f"{what} {name!r} is required: send it in the JSON body (see {DOCS})"
        return f"{what} {name!r} is required: pass {name}=VALUE (see {DOCS})"
    given = problem.get("input")
    shown = f" (got {given!r})" if given is not None and not in_body else ""
    reason = f"{msg[:1].lower()}{msg[1:]}{shown}"
    return f"{what} {name!r}: {reason}; fix it or leave it out (see {DOCS})"


def install(app: FastAPI) -> None:
    """Answer every failure of ``app`` as JSON."""

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error(400, "; ".join(validation_reason(p) for p in exc.errors()))

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error(exc.status, exc.reason)

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error(404, f"no such path {request.url.path}: the API is described at {DOCS}")
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "GET")
            return error(
                405, f"{request.method} is not allowed on {request.url.path}: use {allowed}"
            )
        return error(exc.status_code, str(exc.detail))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette raises ``exc`` again once this answer is sent: uvicorn logs its trace.
        return error(
            500,
            f"the metadata service failed to answer {request.url.path} ({type(exc).__name__}): "
            "see its log; retry later",
        )

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ApiError, refused)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, unexpected)
