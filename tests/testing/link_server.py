"""A resource server on 127.0.0.1 for `link()` in trigger expressions: answers `{"data": ...}`.

    with LinkServer() as links:
        uri = links.resource({"name": "foo"})    # http://127.0.0.1:<port>/resources/<n>
        ...
        assert links.requests[0].authorization.startswith("Bearer ")

With `require_auth`, a request without an `Authorization` header gets 403, as the resource
server of the original's integration test does (§17.6 #57). `redirect()` answers a path, GET or
POST, with a redirection elsewhere. A request through it as a proxy is recorded with its
absolute URI as `path`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class LinkRequest:
    path: str
    authorization: str | None


class LinkServer:
    def __init__(self, *, require_auth: bool = False) -> None:
        self.require_auth = require_auth
        self.requests: list[LinkRequest] = []
        self._resources: dict[str, tuple[int, Any]] = {}
        self._redirects: dict[str, tuple[int, str]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def do_GET(self) -> None:
                auth = self.headers.get("Authorization")
                server.requests.append(LinkRequest(self.path, auth))
                if self.path in server._redirects:
                    status, location = server._redirects[self.path]
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, body = server._resources.get(self.path, (404, {"errorCode": "NOT_FOUND"}))
                if server.require_auth and not auth:
                    status, body = 403, {"errorCode": "FORBIDDEN"}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def resource(self, data: Any, *, status: int = 200) -> str:
        """Serve `{"data": data}` (with `status`) at a new URI; the URI."""
        path = f"/resources/{len(self._resources)}"
        self._resources[path] = (status, {"data": data} if status < 400 else {"errorCode": "ERROR"})
        return self.url + path

    def redirect(self, location: str, *, status: int = 302, path: str | None = None) -> str:
        """Answer `path` (a new one by default) with `status` and `Location: location`; its URI."""
        path = path or f"/redirects/{len(self._redirects)}"
        self._redirects[path] = (status, location)
        return self.url + path

    def __enter__(self) -> LinkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
