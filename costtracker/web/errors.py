"""One error handler for the whole app: JSON under /api, an HTML page elsewhere, never a trace.

Domain code raises :mod:`costtracker.errors`; this module is the only place that turns them
(and FastAPI's validation and routing errors) into responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from costtracker.errors import AuthError, CostTrackerError, InvalidInput

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Too many requests",
    500: "Server error",
    502: "Provider error",
    503: "Unavailable",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        body = {"error": {"code": code, "message": message, **(extra or {})}}
        return JSONResponse(body, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
        headers=headers,
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CostTrackerError)
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        extra["param"] = exc.param
    if exc.status_code >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if type(exc) is AuthError else None
    return error_response(request, exc.status_code, exc.code, exc.message, extra, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("?",), "msg": "invalid"}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body", "header")]
    param = ".".join(loc) or "request"
    message = f"{param}: {first.get('msg', 'invalid value')}"
    return error_response(request, 400, "invalid_input", message, {"param": param})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = f"nothing at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(
        request, 500, "internal_error", "something went wrong on our side; the details are in the server log"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CostTrackerError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
