"""Who is calling: bearer JWTs verified against an OpenID issuer's published keys (spec §2.2).

    verifier = TokenVerifier(settings.auth)
    caller = await verifier.verify(token)          # TokenRejected, or IssuerUnavailable
    caller.may(method, service="orchestration")    # the scope rule of --auth-check-scopes

The cryptography is PyJWT's; this package chooses the key (by `kid`, from the issuer's JWKS,
read by OpenID discovery and cached) and refuses every algorithm but the asymmetric ones.
"""

from ._keys import IssuerKey, IssuerUnavailable, KeySet
from ._tokens import Caller, TokenRejected, TokenVerifier, required_scope

__all__ = ["Caller", "IssuerKey", "IssuerUnavailable", "KeySet", "TokenRejected", "TokenVerifier", "required_scope"]
