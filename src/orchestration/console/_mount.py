"""The console's routes: its HTML on every page path (the browser routes with the history API)
and its assets, all under a strict Content-Security-Policy."""

from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

CONSOLE_PATH = "/ui"
"""Where the console is served; its pages call the API at `/v2` on the same origin."""

PAGES = (
    "", "/", "/workflows", "/workflows/{id}", "/instances", "/instances/{id}", "/triggers", "/triggers/{id}",
)  # fmt: skip

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}

# No inline script or style, nothing from elsewhere, and no string may become HTML (Trusted
# Types with no policy): API text is user-controlled and is only ever set as text.
POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
)
SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(POLICY),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated: a new release shows at the next load
}


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """Every file shipped in `assets/` with its content type, read once: nothing else is served."""
    folder = resources.files(__package__).joinpath("assets")
    assets = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in CONTENT_TYPES:
            assets[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return assets


def console_app() -> Starlette:
    """The console alone, answering `CONSOLE_PATH` and everything under it."""
    assets = _load_assets()
    html, html_type = assets["index.html"]

    async def page(request: Request) -> Response:
        return Response(html, media_type=html_type, headers=SECURITY_HEADERS)

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return Response("Not found\n", status_code=404, media_type=CONTENT_TYPES[".txt"], headers=SECURITY_HEADERS)
        body, media_type = found
        return Response(body, media_type=media_type, headers=SECURITY_HEADERS)

    async def no_such_page(request: Request, exc: Exception) -> Response:
        # The console itself, so that it says so and its navigation stays at hand.
        return Response(html, status_code=404, media_type=html_type, headers=SECURITY_HEADERS)

    routes = [Route(CONSOLE_PATH + path, page, methods=["GET", "HEAD"]) for path in PAGES]
    routes.append(Route(CONSOLE_PATH + "/assets/{name}", asset, methods=["GET", "HEAD"]))
    return Starlette(routes=routes, exception_handlers={404: no_such_page, 405: _on_not_allowed})


async def _on_not_allowed(request: Request, exc: Exception) -> Response:
    headers = {**SECURITY_HEADERS, "Allow": "GET, HEAD"}
    return Response(status_code=405, headers=headers)


class ConsoleMount:
    """ASGI middleware answering `CONSOLE_PATH` from the console before anything else runs:
    its pages and assets hold no data, so they need no token (every data call sends one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.console = console_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")):
            await self.console(scope, receive, send)
        else:
            await self.app(scope, receive, send)
