"""OAuth2 client credentials for calls to the stack gateway (spec §7.1)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import yarl

from ._errors import StackError

SCOPES = "openid ledger:read ledger:write wallets:read wallets:write payments:read payments:write"

# Renew a little before expiry, so that a token never expires in flight.
_EARLY_RENEWAL_SECONDS = 30.0
_TOKEN_TIMEOUT = aiohttp.ClientTimeout(total=30)


class ClientCredentials:
    """Bearer tokens from `<stack>/api/auth/oauth/token`: cached, renewed before they
    expire, and renewed once more when the gateway answers 401 anyway (`stale`)."""

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

    async def token(self, session: aiohttp.ClientSession, proxy: yarl.URL | None, *, stale: str | None = None) -> str:
        """The current token; a new one when it is `stale` (the gateway refused it)."""
        async with self._lock:
            if self._token is None or self._token == stale or time.monotonic() >= self._expires_at:
                await self._fetch(session, proxy)
            assert self._token is not None
            return self._token

    async def _fetch(self, session: aiohttp.ClientSession, proxy: yarl.URL | None) -> None:
        # Not redirected: the form holds the client secret.
        async with session.post(
            self._token_url, data=self._form, timeout=_TOKEN_TIMEOUT, allow_redirects=False, proxy=proxy
        ) as response:
            status, answer = response.status, await response.read()
        if status != 200:
            text = answer.decode(errors="replace")[:200]
            raise StackError(status, "UNAUTHORIZED", f"token request failed: {text}")
        try:
            body = json.loads(answer)
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
            raise StackError(status, "UNAUTHORIZED", "token request failed: the answer has no access_token") from None
        self._token = token
        self._expires_at = time.monotonic() + max(lifetime - _EARLY_RENEWAL_SECONDS, lifetime / 2)
