"""The FastAPI application: v1 at `/` and `/api/orchestration/`, v2 at `/v2/` and
`/api/orchestration/v2/` (DESIGN §4), so the official SDK works against the bare service; the web
console at `/ui`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from orchestration.auth import TokenVerifier
from orchestration.config import AuthSettings
from orchestration.console import ConsoleMount
from orchestration.observability import metrics
from orchestration.service import MetricsService, Services

from . import models
from ._auth import HEALTHCHECK_PATH, METRICS_PATH, TokenAuth
from ._body_size import BodySizeLimit
from ._contract import REQUEST_SCHEMAS
from ._gateway import GATEWAY_PREFIX, GatewayPrefix
from .errors import install_error_handlers
from .routes import add_routes


def create_app(
    *,
    services: Services,
    version: str,
    max_body_size: int,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    auth: AuthSettings | None = None,
    verifier: TokenVerifier | None = None,
    open_metrics: bool = False,
) -> FastAPI:
    """The HTTP API.

    Args:
        services: the use cases the routes call.
        version: what `/_info` says.
        max_body_size: largest request body accepted, in bytes; larger ones get 413.
        lifespan: starts and stops what the services need.
        auth: who may call (`auth.enabled`: a bearer token on every route but the open ones),
            its tokens checked by `verifier`.
        open_metrics: `/metrics` needs no token, even with auth on.
    """
    app = FastAPI(
        title="Formance Orchestration API",
        version=version,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url="/docs",  # not part of the document it shows
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_body_size=max_body_size)
    if auth is not None and auth.enabled:  # added last: it runs first, before any body is read
        assert verifier is not None
        app.add_middleware(
            TokenAuth, verifier=verifier, check_scopes=auth.check_scopes, service=auth.service,
            open_metrics=open_metrics,
        )
    app.add_middleware(ConsoleMount)  # outermost: the console's pages and assets need no token

    async def info() -> JSONResponse:
        return JSONResponse({"version": version})

    async def healthcheck(request: Request) -> JSONResponse:
        """200 when the database, the engine worker and the bus (where this process has them)
        are up; 503 naming what is down."""
        parts = await request.app.state.services.health.check()
        return JSONResponse(parts, status_code=200 if parts["default"] == "OK" else 503)

    async def prometheus(request: Request) -> Response:
        return await _exposition(request.app.state.services.metrics)

    app.add_api_route(METRICS_PATH, prometheus, methods=["GET"], tags=["health"], include_in_schema=False)
    app.add_api_route(
        HEALTHCHECK_PATH, healthcheck, methods=["GET"], tags=["health"],
        responses={200: {"model": models.Health}, 503: {"model": models.Health}},
    )
    app.add_api_route(
        "/_info", info, methods=["GET"], responses={200: {"model": models.ServerInfo}}, operation_id="v1_info"
    )
    app.add_api_route(
        "/v2/_info", info, methods=["GET"], responses={200: {"model": models.ServerInfo}}, operation_id="v2_info"
    )
    # v2 first: its requests, the newer SDKs', are matched against fewer routes.
    add_routes(app.router, 2, prefix="/v2")
    add_routes(app.router, 1, prefix="")
    _complete_the_document(app)
    return app


def serve_under_gateway(app: FastAPI) -> ASGIApp:
    """`app`, finished (instrumented), with its API under the gateway's prefix too (`GatewayPrefix`)."""
    root_only = {METRICS_PATH, HEALTHCHECK_PATH, app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url}
    return GatewayPrefix(app, root_only=frozenset(path for path in root_only if path))


def create_metrics_app(service: MetricsService) -> Starlette:
    """Only `/metrics`, on an address of its own (`--metrics-listen`): a worker's, or a server's
    kept off the API's port."""

    async def prometheus(request: Request) -> Response:
        return await _exposition(service)

    return Starlette(routes=[Route(METRICS_PATH, prometheus, methods=["GET"])])


async def _exposition(service: MetricsService) -> Response:
    """This process's counters and the service's gauges, in Prometheus' text format."""
    return Response(await service.exposition(), media_type=metrics.CONTENT_TYPE)


def _complete_the_document(app: FastAPI) -> None:
    """Add the request schemas the routes refer to (`_contract`) to the generated document, and
    take out FastAPI's 422 answers: parameters are read by hand, a bad one is a 400 or a 404."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document["paths"].values():
                for operation in operations.values():
                    operation["responses"].pop("422", None)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            schemas.update(REQUEST_SCHEMAS)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["GATEWAY_PREFIX", "create_app", "create_metrics_app", "serve_under_gateway"]
