"""The one place where errors become HTTP answers (STYLE R4)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from orchestration.errors import ErrorCode, OrchestrationError
from orchestration.service import DATABASE_ERRORS, database_unreachable

log = logging.getLogger(__name__)

STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INTERNAL: 500,
}


def error_response(
    code: ErrorCode, message: str, status: int | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errorCode": code.value, "errorMessage": message}, status_code=status or STATUS_OF[code], headers=headers
    )


def body_too_large(limit: int) -> JSONResponse:
    """413: the body is over `--max-body-size` (VALIDATION: the SDK knows no other code for it)."""
    return error_response(
        ErrorCode.VALIDATION, f"the request body is larger than the limit of {limit} bytes", status=413
    )


async def _on_orchestration_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrchestrationError)
    return error_response(exc.code, exc.message, status=exc.status)


async def _on_request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return error_response(ErrorCode.VALIDATION, "; ".join(problems) or "invalid request")


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(ErrorCode.NOT_FOUND, "404 page not found")
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        return error_response(
            ErrorCode.VALIDATION,
            f"method {request.method} not allowed; this path accepts {', '.join(allowed)}",
            status=405,
            headers={"Allow": ", ".join(allowed)},
        )
    code = ErrorCode.VALIDATION if exc.status_code < 500 else ErrorCode.INTERNAL
    return error_response(code, str(exc.detail), status=exc.status_code, headers=exc.headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (the router's 405 names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


# Seconds a client is told to wait before trying again while the database is down.
_RETRY_AFTER = "1"


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 while the database cannot answer (a restart, an outage): the client may try again.
    Only the error's type is logged: the driver's message names hosts."""
    if not database_unreachable(exc):
        return await _on_unexpected(request, exc)
    log.warning("database unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return error_response(
        ErrorCode.INTERNAL,
        "the database is unreachable; try again shortly",
        status=503,
        headers={"Retry-After": _RETRY_AFTER},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ErrorCode.INTERNAL, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrchestrationError, _on_orchestration_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(HTTPException, _on_http_error)
    # A handler of its own, unlike `Exception`'s, answers without closing the connection.
    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
