"""Bearer tokens for the API: one given as is, or one fetched with OAuth2 client credentials.

The issuer is an OpenID provider (a Formance stack's is `https://<stack>/api/auth`): its token
endpoint is read from `{issuer}/.well-known/openid-configuration`, then asked for a token with the
`client_credentials` grant (RFC 6749 §4.4).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import quote_plus

import httpx

from orchestration.client._errors import ApiError, Unreachable

DISCOVERY_PATH = "/.well-known/openid-configuration"
FIX_CREDENTIALS = "check --client-id, --client-secret and --issuer (ORCHESTRATION_CLIENT_ID, …)"


class BearerToken(httpx.Auth):
    """A token given on the command line (`--token`, `ORCHESTRATION_TOKEN`)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class ClientCredentials(httpx.Auth):
    """A token fetched from the issuer on the first request, and fetched again once when the server
    refuses it (it expired while `--watch` followed an instance)."""

    def __init__(self, *, issuer: str, client_id: str, client_secret: str, scope: str, timeout: float) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._timeout = timeout
        self._token: str | None = None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            self._token = self._fetch()
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            self._token = self._fetch()
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _fetch(self) -> str:
        with httpx.Client(timeout=self._timeout) as http:
            discovery = self._json(self._send(http, "GET", self._issuer + DISCOVERY_PATH), "its discovery document")
            endpoint = discovery.get("token_endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise ApiError(f"the issuer {self._issuer} names no token_endpoint in its discovery document")
            form = {"grant_type": "client_credentials"}
            if self._scope:
                form["scope"] = self._scope
            # RFC 6749 §2.3.1: each is form-encoded before Basic joins them ("+" and "%" in a secret).
            auth: tuple[str, str] | None = (quote_plus(self._client_id), quote_plus(self._client_secret))
            # RFC 8414: without a list, the endpoint takes HTTP Basic; some take the form fields only.
            methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            if "client_secret_basic" not in methods:
                form |= {"client_id": self._client_id, "client_secret": self._client_secret}
                auth = None
            answer = self._send(http, "POST", endpoint, data=form, auth=auth)
            if answer.status_code != 200:
                raise ApiError(
                    f"the issuer refused the client credentials ({answer.status_code}: {_oauth_error(answer)}); "
                    + FIX_CREDENTIALS
                )
            token = self._json(answer, "a token").get("access_token")
            if not isinstance(token, str) or not token:
                raise ApiError(f"the issuer's token endpoint {endpoint} answered without an access_token")
            return token

    def _send(self, http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(
                f"cannot reach the issuer at {url}: {exc or type(exc).__name__}; {FIX_CREDENTIALS}"
            ) from None

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(
                f"the issuer {self._issuer} answered {response.status_code} without {what} "
                f"at {response.request.url}; {FIX_CREDENTIALS}"
            )
        return body


def _oauth_error(response: httpx.Response) -> str:
    """RFC 6749 §5.2: `error` and `error_description`, else the body's first line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return ": ".join(str(part) for part in (body["error"], body.get("error_description")) if part)
    return response.text.strip().splitlines()[0][:200] if response.text.strip() else "no reason given"
