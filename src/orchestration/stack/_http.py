"""The HTTP client of the stack gateway: one place that turns answers into results or `StackError`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from ._auth import ClientCredentials
from ._errors import TRANSPORT, StackError
from ._tls import tls_context


class StackClient:
    """Calls Ledger, Wallets and Payments through the gateway at `url`.

    Every call is bounded by `timeout`; authentication is OAuth2 client
    credentials when `client_id` is given, none otherwise.
    """

    def __init__(self, url: str, *, client_id: str = "", client_secret: str = "", timeout: timedelta) -> None:
        self.url = url.rstrip("/")
        auth = ClientCredentials(f"{self.url}/api/auth/oauth/token", client_id, client_secret) if client_id else None
        self._client = httpx.AsyncClient(
            base_url=self.url, auth=auth, timeout=timeout.total_seconds(), verify=tls_context()
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer (None when empty), or `StackError`."""
        headers = {"Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        content = json.dumps(body).encode() if body is not None else None
        try:
            response = await self._client.request(method, path, content=content, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise StackError(0, TRANSPORT, f"{method} {path}: no answer within the timeout") from exc
        except httpx.InvalidURL as exc:  # not an HTTPError; nothing was sent
            raise StackError(400, "VALIDATION", f"{method} {path[:200]}: invalid URL: {exc}") from exc
        except httpx.HTTPError as exc:
            raise StackError(0, TRANSPORT, f"{method} {path}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_of(response)
        if not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise StackError(response.status_code, "INTERNAL", f"{method} {path}: answer is not JSON") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_of(response: httpx.Response) -> StackError:
    """The service's own `errorCode`/`errorMessage` when it sent them (spec §7.2)."""
    code, message = "INTERNAL" if response.status_code >= 500 else "VALIDATION", response.text[:500]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("errorCode") or body.get("error") or code)
        message = str(body.get("errorMessage") or body.get("message") or body.get("error_description") or message)
    if response.status_code == 404 and code == "VALIDATION":
        code = "NOT_FOUND"
    return StackError(response.status_code, code, message or f"HTTP {response.status_code}")
