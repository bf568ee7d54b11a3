"""A token endpoint for the tests' OpenID issuer: OAuth2 client credentials (RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from tests.testing.oidc import OidcIssuer

CLIENT_ID, CLIENT_SECRET = "cli-tests", "s3cret"


class TokenEndpoint:
    """Takes the client id and secret by HTTP Basic or as form fields; its tokens are `issuer`'s.

    `requests` records each request's form (`basic`: whether the secret came by HTTP Basic);
    `next_claims` queues claims for the next tokens (`{"expires_in": -120}`: one already expired).
    """

    def __init__(self, issuer: OidcIssuer) -> None:
        self.issuer = issuer
        self.requests: list[dict[str, Any]] = []
        self.next_claims: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth/token"

    def __enter__(self) -> TokenEndpoint:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append(form)
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client", "error_description": "unknown client"}
        claims = self.next_claims.pop(0) if self.next_claims else {}
        token = self.issuer.token(scope=form.get("scope"), **claims)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form: dict[str, Any] = {key: values[0] for key, values in parse_qs(body).items()}
                basic = self.headers.get("Authorization", "")
                if basic.startswith("Basic "):
                    form["client_id"], form["client_secret"] = base64.b64decode(basic[6:]).decode().split(":", 1)
                form["basic"] = basic.startswith("Basic ")
                status, answer = endpoint._answer(form)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
