"""The API under a Formance gateway's prefix too: `/api/orchestration/v2/instances` is `/v2/instances`."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

GATEWAY_PREFIX = "/api/orchestration"
"""Where a Formance gateway mounts the API: it is served there too."""


class GatewayPrefix:
    """Serves the app's API under `GATEWAY_PREFIX` as Starlette serves an app mounted under a root
    path: the prefix joins the request's `root_path`, and routes match what follows it. One table
    of routes instead of a copy under each prefix: a request is matched against half as many.

    Wraps the finished app, its tracing included, so that a request's span names its route either
    way. `root_only` (the probes, the scrapes, the document and its page) are served at the root
    only: they are not the API, and a gateway has no business forwarding them."""

    def __init__(self, app: ASGIApp, *, root_only: frozenset[str]) -> None:
        self.app = app
        self.root_only = root_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            prefix = scope.get("root_path", "") + GATEWAY_PREFIX
            path: str = scope["path"]
            if path.startswith(prefix + "/") and path[len(prefix):] not in self.root_only:
                scope = {**scope, "root_path": prefix}
        await self.app(scope, receive, send)
