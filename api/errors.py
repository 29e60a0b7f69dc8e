"""One JSON shape for every error the API returns, each with a stable code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import RateLimited, SkyieError
from core.logging import get_logger

log = get_logger("api")

# Codes for the HTTP errors Starlette raises on its own (unknown route, wrong method...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    field: str = Field(description="Where in the request, e.g. 'body.script'.")
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable: not_found, invalid_input, ...")
    message: str = Field(description="What was wrong, for a person to read.")
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc) or "request"


async def _skyie(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SkyieError)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    details = [ErrorDetail(field=field, message=message) for field, message in exc.details]
    return error_response(exc.status_code, exc.code, exc.message, details, headers=headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(field=_field(e.get("loc", ())), message=str(e.get("msg", "invalid")))
        for e in exc.errors()[:20]
    ]
    summary = "; ".join(f"{d.field}: {d.message}" for d in details[:3])
    return error_response(422, "invalid_input", f"invalid request — {summary}", details)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("api.unhandled", path=request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side; try again")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SkyieError, _skyie)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


# For route declarations: the error shapes each route can answer with, shown in the docs.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 422, 429)
}
