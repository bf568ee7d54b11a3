"""Bearer tokens: verified with PyJWT against the issuer's key, and their scopes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from orchestration.config import AuthSettings

from ._keys import IssuerKey, KeySet

ACCEPTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Asymmetric only: never `none`, never an HMAC (whose secret would be the public key)."""
LEEWAY = 30
"""Seconds of clock difference tolerated on `exp` and `nbf`."""
VERIFIED_KEPT = 10_000
"""Tokens remembered as verified (until they expire), so a client's next calls cost no signature check."""
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class TokenRejected(Exception):
    """The token does not let its bearer in; the message says why (no secret in it)."""


@dataclass(frozen=True)
class Caller:
    subject: str | None
    scopes: frozenset[str]
    expires_at: float

    def may(self, method: str, *, service: str) -> bool:
        """Reads need `<service>:read` or `<service>:write`, anything else `<service>:write`."""
        return f"{service}:write" in self.scopes or required_scope(method, service=service) in self.scopes


def required_scope(method: str, *, service: str) -> str:
    """The least scope a method needs: `<service>:read` for reads, `<service>:write` for the rest."""
    return f"{service}:read" if method.upper() in READ_METHODS else f"{service}:write"


class TokenVerifier:
    def __init__(self, settings: AuthSettings, keys: KeySet | None = None) -> None:
        self._issuer = settings.issuer_url
        self.keys = keys or KeySet(settings.issuer_url, attempts=settings.read_key_set_max_retries)
        self._verified: dict[str, Caller] = {}
        self._verified_generation = 0

    async def verify(self, token: str) -> Caller:
        """The caller a token names; `TokenRejected`, or `IssuerUnavailable` when no key can be read."""
        if self._verified_generation != self.keys.generation:  # keys changed: verify again
            self._verified, self._verified_generation = {}, self.keys.generation
        known = self._verified.get(token)
        if known is not None and known.expires_at > time.time():
            return known
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRejected("the token is not a JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            raise TokenRejected("the token's algorithm is not accepted (asymmetric signatures only)")
        if not isinstance(kid, (str, type(None))):
            raise TokenRejected("the token's kid is not a string")
        key = await self.keys.key(kid)
        if key is None:
            raise TokenRejected("the token's key is not one of the issuer's")
        if not _fits(key, algorithm):
            raise TokenRejected(f"the token's algorithm {algorithm} does not fit its key")
        try:
            claims = jwt.decode(
                token,
                key.jwk.key,
                algorithms=[algorithm],
                issuer=self._issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token was not issued by this server's issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the token has no {exc.claim} claim") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("the token's claims are not valid") from None
        except (TypeError, ValueError):  # a key and an algorithm that do not go together
            raise TokenRejected("the token's algorithm does not fit its key") from None
        caller = Caller(subject=_text(claims.get("sub")), scopes=_scopes(claims), expires_at=float(claims["exp"]))
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified.clear()
        self._verified[token] = caller
        return caller

    async def aclose(self) -> None:
        await self.keys.aclose()


def _fits(key: IssuerKey, algorithm: str) -> bool:
    """One algorithm per key when the issuer published it (RFC 8725); else the key's family:
    RSA keys verify RS* and PS*, EC and OKP keys the one their curve names."""
    if key.algorithm is not None:
        return algorithm == key.algorithm
    published = key.jwk.algorithm_name
    return algorithm == published or (published[:2] in ("RS", "PS") and algorithm[:2] in ("RS", "PS"))


def _scopes(claims: dict[str, object]) -> frozenset[str]:
    """`scope` as OAuth2 says (a space-separated string), or `scp` as a list."""
    scope, scp = claims.get("scope"), claims.get("scp")
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    return frozenset()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
