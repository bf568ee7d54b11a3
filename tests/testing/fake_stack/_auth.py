"""OAuth2 client credentials: the token endpoint and bearer-token checks of the gateway.

Token endpoint `POST /api/auth/oauth/token` (Formance auth, an OIDC provider): form `grant_type=client_credentials`,
client id/secret as form fields or HTTP Basic → `{"access_token", "token_type": "Bearer", "expires_in", "scope"}`.
Errors follow RFC 6749 §5.2 (`{"error": "invalid_client" | "unsupported_grant_type", "error_description"}`).
Other routes: the gateway auth plugin (formancehq/gateway-plugin-auth plugin.go) answers a missing, malformed or
invalid bearer token with `http.Error(w, "Unauthorized", 401)`, i.e. a text/plain body "Unauthorized\n".
Tokens are JWT-shaped (three base64url parts) like the real ones, but the fake only checks that it issued them
and that they have not expired.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from ._common import Answer

TOKEN_PATH = "/api/auth/oauth/token"
UNAUTHORIZED_BODY = b"Unauthorized\n"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Auth:
    """Issued tokens and their expiry; thread-safe on its own lock."""

    def __init__(self, client_id: str | None, client_secret: str | None, ttl: float) -> None:
        self.client_id, self.client_secret, self.ttl = client_id, client_secret, ttl
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.issued = 0

    @property
    def enabled(self) -> bool:
        return self.client_id is not None

    def issue(self, scope: str) -> str:
        claims = {"iss": "fake-stack", "sub": self.client_id, "scope": scope, "exp": int(time.time() + self.ttl),
                  "jti": secrets.token_hex(8)}
        token = ".".join([_b64(b'{"alg":"RS256","typ":"JWT"}'), _b64(json.dumps(claims).encode()),
                          _b64(secrets.token_bytes(32))])
        with self._lock:
            self._tokens[token] = time.monotonic() + self.ttl
            self.issued += 1
        return token

    def accepts(self, authorization: str | None) -> bool:
        if not self.enabled:
            return True
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            expiry = self._tokens.get(authorization[len("Bearer "):])
        return expiry is not None and expiry > time.monotonic()

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    async def token_endpoint(self, request: Request) -> Response:
        """POST /api/auth/oauth/token."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type",
                                "error_description": "only client_credentials is supported"}).to_response()
        if self.enabled and (client_id != self.client_id or secret != self.client_secret):
            return Answer(401, {"error": "invalid_client",
                                "error_description": "client authentication failed"}).to_response()
        scope = form.get("scope", "")
        return Answer(200, {"access_token": self.issue(scope), "token_type": "Bearer", "expires_in": int(self.ttl),
                            "scope": scope}, headers={"Cache-Control": "no-store"}).to_response()
