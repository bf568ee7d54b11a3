"""The API under a Formance gateway's prefix too: `/api/orchestration/v2/instances` is `/v2/instances`."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

GATEWAY_PREFIX = "/api/orchestration"
"""Where a Formance gateway mounts the API: it is served there too."""


class GatewayPrefix:
    """Serves the app under `GATEWAY_PREFIX` as Starlette serves an app mounted under a root path:
    the prefix joins the request's `root_path`, and routes match what follows it. One table of
    routes instead of a copy under each prefix: a request is matched against half as many."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root_path = scope.get("root_path", "")
            if scope["path"].startswith(f"{root_path}{GATEWAY_PREFIX}/"):
                scope = {**scope, "root_path": root_path + GATEWAY_PREFIX}
        await self.app(scope, receive, send)
