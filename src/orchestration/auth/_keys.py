"""The issuer's public keys: OpenID discovery, then its JWKS, cached and read again now and then.

Reads are few whatever clients send: at most one every `REREAD_PAUSE` (a token with a new `kid`,
after a rotation, waits that long at most; a forged `kid` cannot make the server hammer its
issuer), one at a time (requests that need it share it), each bounded by `READ_DEADLINE`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
"""Key types kept from a JWKS: a shared secret (`oct`) is never a key to verify a token with."""
REREAD_PAUSE = 1.0
"""Seconds between two readings of the keys, whether the last one worked or not."""
MAX_AGE = 600.0
"""Seconds after which the keys are read again anyway, so that a key the issuer removed stops working."""
READ_DEADLINE = 5.0
"""Seconds one whole reading (discovery and JWKS) may take."""


class IssuerUnavailable(Exception):
    """The issuer's keys cannot be read: no token can be verified (the request is refused)."""


@dataclass(frozen=True)
class IssuerKey:
    jwk: jwt.PyJWK
    algorithm: str | None
    """The `alg` the issuer published for the key, if it did: then the only one it verifies."""
    published: str
    """The key as the issuer published it (to tell when it changed)."""


class KeySet:
    def __init__(self, issuer: str, *, attempts: int) -> None:
        self._discovery_url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
        self._attempts = attempts
        self._client = httpx.AsyncClient(timeout=READ_DEADLINE, follow_redirects=False)
        self._keys: dict[str | None, IssuerKey] = {}
        self._read_at = float("-inf")  # when the last reading ended, well or not
        self._loaded_at = float("-inf")  # when the keys were last read well
        self._failure: str | None = None
        self._lock = asyncio.Lock()
        self.generation = 0
        """Counts the readings that changed the keys: what was verified before may no longer verify."""

    async def warm_up(self) -> None:
        """Read the keys at start-up, trying `attempts` times a second apart (failures only log:
        requests then try again, and are refused while the issuer stays unreachable)."""
        for attempt in range(1, self._attempts + 1):
            async with self._lock:
                await self._read()
            if self._failure is None:
                return
            log.warning("cannot read the token issuer's keys (attempt %d of %d): %s", attempt, self._attempts,
                        self._failure)
            if attempt < self._attempts:
                await asyncio.sleep(REREAD_PAUSE)

    async def key(self, kid: str | None) -> IssuerKey | None:
        """The key named `kid` (the only key, for a token without one), or None: no such key.
        `IssuerUnavailable` when the keys were never read and cannot be now."""
        if self._pick(kid) is None or self._old():
            async with self._lock:
                if (self._pick(kid) is None or self._old()) and time.monotonic() - self._read_at >= REREAD_PAUSE:
                    await self._read()
        if not self._keys and self._failure is not None:
            raise IssuerUnavailable(self._failure)
        return self._pick(kid)

    def _old(self) -> bool:
        return time.monotonic() - self._loaded_at >= MAX_AGE

    def _pick(self, kid: str | None) -> IssuerKey | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def _read(self) -> None:
        """Read the keys; on failure keep the ones read before (and remember why)."""
        try:
            async with asyncio.timeout(READ_DEADLINE):
                keys = await self._fetch()
        except TimeoutError:
            self._failed(f"no answer within {READ_DEADLINE} s")
        except IssuerUnavailable as exc:
            self._failed(str(exc))
        else:
            if {k: v.published for k, v in keys.items()} != {k: v.published for k, v in self._keys.items()}:
                self.generation += 1
            self._keys, self._failure = keys, None
            self._loaded_at = time.monotonic()
        finally:
            self._read_at = time.monotonic()

    def _failed(self, why: str) -> None:
        self._failure = why
        log.error("cannot read the token issuer's keys: %s", why)

    async def _fetch(self) -> dict[str | None, IssuerKey]:
        discovery = await self._get_json(self._discovery_url)
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable("the issuer's discovery document names no jwks_uri")
        entries = (await self._get_json(jwks_uri)).get("keys")
        if not isinstance(entries, list):
            raise IssuerUnavailable("the issuer's JWKS has no list of keys")
        keys: dict[str | None, IssuerKey] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC_KEY_TYPES:
                continue
            kid, algorithm = entry.get("kid"), entry.get("alg")
            if entry.get("use", "sig") != "sig" or not isinstance(kid, (str, type(None))):
                continue
            try:
                published = json.dumps(entry, sort_keys=True)
                keys[kid] = IssuerKey(jwt.PyJWK(entry), algorithm if isinstance(algorithm, str) else None, published)
            except Exception as exc:  # PyJWT's errors, and whatever an odd key makes it raise
                log.warning("ignoring a key of the issuer that cannot verify tokens: %s", exc)
        return keys

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
