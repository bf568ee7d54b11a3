"""Bearer tokens on every API route when `--auth-enabled` (spec §2.2, pure ASGI).

Open without a token: `/_info` and `/_healthcheck` (probes), the OpenAPI document and its page
(they describe the API, they do not use it), `/v2/webhooks`, which authenticates each
delivery by its signature instead, and `/metrics` only with `--metrics-open` (by default a
scraper needs a token with the read scope, as Prometheus' `oauth2` scrape setting gets one).
Everything else answers 401 without a valid token, 403 with one whose scopes do not allow the
method (with `--auth-check-scopes`), and 503 while the issuer's keys cannot be read: a request
is never let through unverified.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestration.auth import IssuerUnavailable, TokenRejected, TokenVerifier, required_scope
from orchestration.errors import ErrorCode

from ._gateway import GATEWAY_PREFIX
from .errors import error_response

log = logging.getLogger(__name__)

HEALTHCHECK_PATH = "/_healthcheck"
OPEN_PATHS = frozenset({"/_info", "/v2/_info", HEALTHCHECK_PATH, "/openapi.json", "/docs", "/v2/webhooks"})
REALM = 'Bearer realm="orchestration"'


METRICS_PATH = "/metrics"


class TokenAuth:
    def __init__(
        self, app: ASGIApp, *, verifier: TokenVerifier, check_scopes: bool, service: str, open_metrics: bool = False
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.check_scopes = check_scopes
        self.service = service
        self.open_paths = OPEN_PATHS | {METRICS_PATH} if open_metrics else OPEN_PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.removeprefix(GATEWAY_PREFIX) in self.open_paths:
            await self.app(scope, receive, send)
            return
        authorization = Headers(scope=scope).get("authorization", "")
        kind, _, token = authorization.partition(" ")
        if not authorization:
            await _refuse(401, "this route needs a bearer token (Authorization: Bearer <token>)", REALM)(
                scope, receive, send
            )
            return
        if kind.lower() != "bearer" or not token.strip():
            challenge = f'{REALM}, error="invalid_request"'
            await _refuse(401, "the Authorization header must be: Bearer <token>", challenge)(scope, receive, send)
            return
        try:
            caller = await self.verifier.verify(token.strip())
        except TokenRejected as exc:
            challenge = f'{REALM}, error="invalid_token", error_description="{_quotable(str(exc))}"'
            await _refuse(401, str(exc), challenge)(scope, receive, send)
            return
        except IssuerUnavailable as exc:
            log.error("refusing a request: the token issuer's keys cannot be read: %s", exc)
            message = "tokens cannot be verified now: the issuer is unreachable; try again later"
            await error_response(ErrorCode.INTERNAL, message, status=503)(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if self.check_scopes and not caller.may(method, service=self.service):
            needed = required_scope(method, service=self.service)
            challenge = f'{REALM}, error="insufficient_scope", scope="{needed}"'
            await _refuse(403, f"the token's scopes do not allow {method}: it needs {needed}", challenge)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _quotable(text: str) -> str:
    """Text fit for a quoted-string of a header: printable ASCII, without quote or backslash."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


def _refuse(status: int, message: str, challenge: str) -> ASGIApp:
    return error_response(ErrorCode.VALIDATION, message, status=status, headers={"WWW-Authenticate": challenge})
