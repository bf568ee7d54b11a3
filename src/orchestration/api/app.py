"""The FastAPI application: v1 at `/` and `/api/orchestration/`, v2 at `/v2/` and
`/api/orchestration/v2/` (DESIGN §4), so the official SDK works against the bare service."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from orchestration.service import Services

from . import models
from .errors import install_error_handlers
from .routes import build_router

GATEWAY_PREFIX = "/api/orchestration"


def create_app(
    *,
    services: Services,
    version: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Formance Orchestration API",
        version=version,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)

    async def info() -> JSONResponse:
        return JSONResponse({"version": version})

    async def healthcheck() -> JSONResponse:
        return JSONResponse({"default": "OK"})

    app.add_api_route("/_healthcheck", healthcheck, methods=["GET"], tags=["health"])
    for prefix in ("", GATEWAY_PREFIX):
        hidden = prefix == GATEWAY_PREFIX  # documented once, served twice
        app.add_api_route(
            f"{prefix}/_info", info, methods=["GET"], include_in_schema=not hidden,
            responses={200: {"model": models.ServerInfo}}, operation_id=f"v1_info{prefix.replace('/', '_')}",
        )
        app.add_api_route(
            f"{prefix}/v2/_info", info, methods=["GET"], include_in_schema=not hidden,
            responses={200: {"model": models.ServerInfo}}, operation_id=f"v2_info{prefix.replace('/', '_')}",
        )
        app.include_router(build_router(1), prefix=prefix, include_in_schema=not hidden)
        app.include_router(build_router(2), prefix=f"{prefix}/v2", include_in_schema=not hidden)
    return app


__all__ = ["create_app"]
