"""The issuer's public keys: OpenID discovery, then its JWKS, cached; read again for a new `kid`."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
"""Key types kept from a JWKS: a shared secret (`oct`) is never a key to verify a token with."""
REREAD_PAUSE = 1.0
"""Seconds between two readings of the keys for a `kid` not among them (a forged `kid` must not
make the server hammer its issuer)."""
TIMEOUT = 5.0
"""Seconds one call to the issuer may take."""


class IssuerUnavailable(Exception):
    """The issuer's keys cannot be read: no token can be verified (the request is refused)."""


class KeySet:
    def __init__(self, issuer: str, *, attempts: int, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._issuer = issuer
        self._attempts = attempts
        self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, transport=transport)
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def warm_up(self) -> None:
        """Read the keys at start-up, trying `attempts` times a second apart; failures only log
        (a request then tries again, and is refused while the issuer stays unreachable)."""
        for attempt in range(1, self._attempts + 1):
            try:
                await self._read()
                return
            except IssuerUnavailable as exc:
                log.warning("cannot read the token issuer's keys (attempt %d of %d): %s", attempt, self._attempts, exc)
            if attempt < self._attempts:
                await asyncio.sleep(1)

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key named `kid` (the only key, for a token without one), or None: no such key."""
        found = self._pick(kid)
        if found is None and (not self._keys or time.monotonic() - self._read_at >= REREAD_PAUSE):
            async with self._lock:
                found = self._pick(kid)
                if found is None and (not self._keys or time.monotonic() - self._read_at >= REREAD_PAUSE):
                    await self._read()  # rotated keys, or keys never read yet
                    found = self._pick(kid)
        return found

    def _pick(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def _read(self) -> None:
        self._read_at = time.monotonic()
        discovery = await self._get_json(f"{self._issuer}/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable("the issuer's discovery document names no jwks_uri")
        document = await self._get_json(jwks_uri)
        keys: dict[str | None, jwt.PyJWK] = {}
        for entry in document.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC_KEY_TYPES:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry.get("kid")] = jwt.PyJWK(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
                log.warning("ignoring a key of the issuer that cannot verify tokens: %s", exc)
        self._keys = keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._client.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IssuerUnavailable(f"{url}: {exc}") from None
        if not isinstance(body, dict):
            raise IssuerUnavailable(f"{url}: not a JSON object")
        return body

    async def aclose(self) -> None:
        await self._client.aclose()
