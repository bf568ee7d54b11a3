"""OAuth2 client credentials for calls to the stack gateway (spec §7.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import httpx

from ._errors import StackError
from ._tls import tls_context

SCOPES = "openid ledger:read ledger:write wallets:read wallets:write payments:read payments:write"

# Renew a little before expiry, so that a token never expires in flight.
_EARLY_RENEWAL_SECONDS = 30.0


class ClientCredentials(httpx.Auth):
    """Bearer tokens from `<stack>/api/auth/oauth/token`: cached, renewed before they
    expire, and renewed once more when the gateway answers 401 anyway."""

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": SCOPES,
        }
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self._current(stale=None)}"
        response = yield request
        if response.status_code == 401:
            stale = request.headers["Authorization"].removeprefix("Bearer ")
            request.headers["Authorization"] = f"Bearer {await self._current(stale=stale)}"
            yield request

    async def _current(self, *, stale: str | None) -> str:
        async with self._lock:
            if self._token is None or self._token == stale or time.monotonic() >= self._expires_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        # A client of its own: the main one would run this auth flow again.
        async with httpx.AsyncClient(timeout=30, verify=tls_context()) as client:
            response = await client.post(self._token_url, data=self._form)
        if response.status_code != 200:
            raise StackError(response.status_code, "UNAUTHORIZED", f"token request failed: {response.text[:200]}")
        body = response.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 3600))
        self._expires_at = time.monotonic() + max(lifetime - _EARLY_RENEWAL_SECONDS, lifetime / 2)
