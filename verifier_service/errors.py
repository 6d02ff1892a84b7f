"""The service's error codes and the handlers that turn refusals into 4xx JSON bodies.

Every refusal is ``{"code": "<machine-readable>", "message": "..."}`` (validation errors add
``errors``: one entry per offending field, with its path). A bad licence is never an error:
it is a 200 with a FAILED result; these codes are for bad requests only.

The handlers are registered for the exceptions FastAPI and Starlette raise on their own
(unknown route, wrong method, unparseable body, validation) and for :class:`ServiceError`,
which the service raises itself. There is deliberately no handler for ``Exception``: each
cause of failure is handled where it arises, and the tests check that no 5xx appears.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "ERROR_CODES",
    "ServiceError",
    "error_response",
    "install_error_handlers",
    "retry_after",
]

#: Every code the service answers with, and its HTTP status.
ERROR_CODES: Final[Mapping[str, int]] = {
    "invalid_json": 400,
    "invalid_form": 400,
    "not_an_image": 400,
    "no_qr_code": 400,
    "too_many_qr_codes": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "body_too_large": 413,
    "image_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_request": 422,
    "rate_limited": 429,
    "peer_unavailable": 503,
    "audit_unavailable": 503,
    "not_configured": 503,
    "storage_unavailable": 503,
}


class ServiceError(StarletteHTTPException):
    """A refusal with a stable ``code``; its status comes from :data:`ERROR_CODES`.

    It is an HTTPException so that FastAPI, which turns any other exception raised while
    it reads a body into a generic 400, lets it through unchanged.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__(ERROR_CODES[code], message, dict(headers) if headers else None)
        self.code = code
        self.message = message
        self.errors = errors


def error_response(
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
) -> JSONResponse:
    """The JSON body every refusal has."""
    body: dict[str, object] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = [dict(e) for e in errors]
    return JSONResponse(body, status_code=ERROR_CODES[code], headers=dict(headers or {}))


def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc.code, exc.message, headers=exc.headers, errors=exc.errors)


# Starlette and FastAPI raise plain HTTPExceptions for these statuses.
_HTTP_CODES: Final[Mapping[int, tuple[str, str]]] = {
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", "this method is not allowed here"),
    413: ("body_too_large", "the request body is too large"),
    415: ("unsupported_media_type", "unsupported content type"),
}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI answers 400 when a body cannot be read at all: bytes that are not UTF-8
        # under a JSON content type, or a multipart body that does not parse.
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
            return error_response("invalid_form", f"the form cannot be read: {exc.detail}")
        return error_response(
            "invalid_json", "the request body cannot be read as JSON (UTF-8, nesting, numbers)"
        )
    code, message = _HTTP_CODES.get(exc.status_code, ("invalid_request", str(exc.detail)))
    return error_response(code, message, headers=exc.headers)


def _field_path(location: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in location)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    for problem in problems:
        if problem.get("type") == "json_invalid":
            detail = problem.get("ctx", {}).get("error", "malformed JSON")
            return error_response("invalid_json", f"the request body is not valid JSON: {detail}")
    fields = [
        {"path": _field_path(problem.get("loc", ())), "message": str(problem.get("msg", ""))}
        for problem in problems
    ]
    summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
    return error_response("invalid_request", summary or "invalid request", errors=fields)


def retry_after(seconds: float) -> dict[str, str]:
    """A Retry-After header of whole seconds, at least one."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every refusal its JSON body."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
