"""A local OpenID issuer on 127.0.0.1 for tests of bearer-token checks: discovery, JWKS, good and bad tokens.

    with OidcIssuer(path="/api/auth") as issuer:       # issuer URL http://127.0.0.1:<port>/api/auth
        issuer.token()                                 # RS256, iss/sub/iat/nbf/exp/scope, verifies
        issuer.token(key="ec", scope=None)             # ES256 without a scope claim
        issuer.token(expires_in=-60)                   # expired
        issuer.token(stranger=True)                    # current kid, but signed by a key not in the JWKS
        issuer.token(headers={"kid": "no-such-kid"})   # unknown kid: a verifier refetches the keys once
        issuer.forged_none()                           # `alg: none`, unsigned
        issuer.forged_hs256_with_public_key()          # HS256 keyed with the RSA public key PEM
        issuer.fail(500); issuer.hang(2.0); issuer.stop(); issuer.start()   # an unreachable issuer

Keys are generated for each issuer (RSA 2048 for RS256, EC P-256 for ES256). Signed tokens are assembled here
and signed by PyJWT's algorithm objects, so that any header can be sent (a missing kid, an `alg` that lies);
what PyJWT refuses to make (`alg: none`, HMAC keyed with a PEM) is built by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socketserver
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.utils import base64url_decode

from .faults import take_fault

__all__ = ["ASYMMETRIC_ALGORITHMS", "DEFAULT_SCOPE", "GARBAGE_TOKENS", "ClaimOptions", "IssuerKey", "OidcIssuer"]

DEFAULT_SCOPE = "orchestration:read orchestration:write"
ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]
"""What the issuer signs with, and so the only algorithms a verifier should accept from it."""

GARBAGE_TOKENS: tuple[str, ...] = (
    "",
    "garbage",
    "a.b",
    "a.b.c",
    "a.b.c.d",
    "...",
    "eyJhbGciOiJSUzI1NiJ9",  # a header alone
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0",  # no signature segment
    "eyJhbGciOiJSUzI1NiJ9.!!!.c2ln",  # payload not base64url
    "é.é.é",
    "Bearer abc",
)
"""Strings that are not JWTs at all: every one must be refused before any key is looked up."""

KeyType = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Endpoint = Literal["discovery", "keys"]

_DISCOVERY = "/.well-known/openid-configuration"
_KEYS = "/keys"
_ALG: dict[KeyType, str] = {"rsa": "RS256", "ec": "ES256"}


class ClaimOptions(TypedDict, total=False):
    """Claims of a minted token. A key left out takes its default; `None` removes the claim.

    `issuer` (default: the issuer URL) → `iss`; `sub` (default `"orchestration-tests"`); `aud` (default: none);
    `scope` (default `DEFAULT_SCOPE`); `expires_in` (default 300) → `exp`, `not_before_in` (default 0) → `nbf`
    and `issued_at_in` (default 0) → `iat`, all seconds from now; `claims`: merged last (extra claims, or
    overrides of any claim; a `None` value removes it).
    """

    issuer: str | None
    sub: str | None
    aud: str | list[str] | None
    scope: str | None
    expires_in: float | None
    not_before_in: float | None
    issued_at_in: float | None
    claims: Mapping[str, Any]


@dataclass(frozen=True)
class IssuerKey:
    """One signing key of the issuer (published in the JWKS unless dropped by `rotate`)."""

    kid: str
    type: KeyType
    private_key: PrivateKey = field(repr=False)

    @property
    def alg(self) -> str:
        """`RS256` or `ES256`."""
        return _ALG[self.type]

    @property
    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo): what a careless verifier feeds to an HMAC."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK, with `kid`, `use: "sig"` and `alg`."""
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}


def _new_key(key_type: KeyType) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _check_times(times: int | None) -> None:
    if times is not None and times < 1:
        raise ValueError("times is None (until heal()) or at least 1")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_b64(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class _Fault:
    kind: Literal["fail", "hang"]
    endpoint: Endpoint | None
    times: int | None  # None: until heal()
    status: int = 500
    body: bytes = b""
    seconds: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:  # HTTPServer's resolves the host name (getfqdn), which can be slow
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


class OidcIssuer:
    """An OpenID issuer serving its discovery document and JWKS over real HTTP, minting tokens for tests.

    Usable as a context manager or through `start()`/`stop()`; keys, counters and faults survive a stop/start,
    which serves again on the same port. Thread-safe.

    Args:
        path: path of the issuer URL under `http://127.0.0.1:<port>` (e.g. `/api/auth`, as a Formance stack's
            issuer is `$STACK_PUBLIC_URL/api/auth`); the discovery document and keys live under it.
    """

    def __init__(self, *, path: str = "") -> None:
        self._path = "/" + path.strip("/") if path.strip("/") else ""
        self._lock = threading.RLock()
        self._keys: dict[str, IssuerKey] = {}
        self._published: list[str] = []  # kids in the JWKS, oldest first
        self._current = ""
        self._strangers: dict[KeyType, PrivateKey] = {}
        self._faults: list[_Fault] = []
        self._release = threading.Event()  # set to let go of hung requests
        self._discovery_overrides: dict[str, Any] = {}
        self._counts: dict[Endpoint, int] = {"discovery": 0, "keys": 0}
        self._port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.rotate(key="ec")
        self.rotate(key="rsa")  # the current key: RS256, the common case

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        if not self._port:
            raise RuntimeError("OidcIssuer is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """The issuer URL (`iss` of its tokens): the base URL plus `path`."""
        return self.base_url + self._path

    def server_args(self) -> list[str]:
        """The flags of a server that requires this issuer's tokens, scopes checked."""
        return ["--auth-enabled", "--auth-issuer", self.url, "--auth-check-scopes"]

    @property
    def discovery_url(self) -> str:
        """`<url>/.well-known/openid-configuration`."""
        return self.url + _DISCOVERY

    @property
    def jwks_uri(self) -> str:
        """`<url>/keys`."""
        return self.url + _KEYS

    def start(self) -> OidcIssuer:
        """Serve on 127.0.0.1: a free port the first time, the same port after `stop()` (OSError if taken)."""
        with self._lock:
            if self._server is not None:
                return self
            server = _Server(("127.0.0.1", self._port), self._handler())
            self._port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                            name="oidc-issuer", daemon=True)
            self._thread.start()
            return self

    def stop(self) -> None:
        """Stop serving (connections are then refused); hung requests are let go first."""
        with self._lock:
            server, thread, self._server, self._thread = self._server, self._thread, None, None
            self._let_go()
        if server is not None and thread is not None:
            server.shutdown()
            server.server_close()
            thread.join(5.0)

    def __enter__(self) -> OidcIssuer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- keys --------------------------------------------------------------------------------------------------

    @property
    def current_kid(self) -> str:
        """The kid `token()` signs with by default."""
        return self._current

    def key(self, kid: str | None = None) -> IssuerKey:
        """The key `kid` (published or dropped; KeyError if never made), by default the current one."""
        with self._lock:
            return self._keys[kid if kid is not None else self._current]

    @property
    def published_kids(self) -> list[str]:
        """Kids in the JWKS, oldest first."""
        with self._lock:
            return list(self._published)

    def rotate(self, *, key: KeyType = "rsa", drop_old: bool = False) -> str:
        """Make a new key of type `key` the current signing key and publish it; its kid.

        With `drop_old`, every older key leaves the JWKS (tokens signed by them then carry an unknown kid);
        `token(kid=old)` still signs with them.
        """
        new = IssuerKey(f"{key}-{secrets.token_hex(6)}", key, _new_key(key))
        with self._lock:
            self._keys[new.kid] = new
            self._published = [new.kid] if drop_old else [*self._published, new.kid]
            self._current = new.kid
        return new.kid

    def jwks(self) -> dict[str, Any]:
        """The JWKS as served at `/keys`: public keys only."""
        with self._lock:
            return {"keys": [self._keys[kid].public_jwk() for kid in self._published]}

    def discovery(self) -> dict[str, Any]:
        """The discovery document as served, overrides applied."""
        with self._lock:
            doc: dict[str, Any] = {
                "issuer": self.url,
                "jwks_uri": self.jwks_uri,
                "id_token_signing_alg_values_supported": list(ASYMMETRIC_ALGORITHMS),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                **self._discovery_overrides,
            }
            return {k: v for k, v in doc.items() if v is not None}

    def override_discovery(self, **fields: Any) -> None:
        """Change fields of the discovery document (e.g. `issuer="http://evil"`); `None` removes a field."""
        with self._lock:
            self._discovery_overrides.update(fields)

    # -- counters and faults -----------------------------------------------------------------------------------

    @property
    def keys_requests(self) -> int:
        """How many `GET <url>/keys` arrived (failed and hung ones included)."""
        with self._lock:
            return self._counts["keys"]

    @property
    def discovery_requests(self) -> int:
        """How many `GET <url>/.well-known/openid-configuration` arrived (failed and hung ones included)."""
        with self._lock:
            return self._counts["discovery"]

    def reset_counters(self) -> None:
        """Set both request counters back to 0."""
        with self._lock:
            self._counts = {"discovery": 0, "keys": 0}

    def fail(self, status: int = 500, *, body: bytes = b'{"error":"server_error"}', endpoint: Endpoint | None = None,
             times: int | None = None) -> None:
        """Answer `status` with `body` to the next `times` requests (None: until `heal()`).

        `endpoint` limits the fault to `"discovery"` or `"keys"`. `fail(200, body=b"not json")` serves garbage.
        Faults are consumed first queued, first used.
        """
        _check_times(times)
        with self._lock:
            self._faults.append(_Fault("fail", endpoint, times, status=status, body=body))

    def hang(self, seconds: float, *, endpoint: Endpoint | None = None, times: int | None = None) -> None:
        """Hold the next `times` requests (None: until `heal()`) for `seconds`, then answer them normally.

        Hung requests are let go early by `heal()` and `stop()`, so a test never waits out the bound.
        """
        if not 0 < seconds <= 60:
            raise ValueError("a hang is bounded: 0 < seconds <= 60")
        _check_times(times)
        with self._lock:
            self._faults.append(_Fault("hang", endpoint, times, seconds=seconds))

    def heal(self) -> None:
        """Drop every queued fault and let go of hung requests."""
        with self._lock:
            self._faults.clear()
            self._let_go()

    def _let_go(self) -> None:
        self._release.set()
        self._release = threading.Event()

    def _take_fault(self, endpoint: Endpoint) -> _Fault | None:
        return take_fault(self._faults, lambda fault: fault.endpoint in (None, endpoint))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                routes: dict[str, Endpoint] = {issuer._path + _DISCOVERY: "discovery", issuer._path + _KEYS: "keys"}
                endpoint = routes.get(urlsplit(self.path).path)
                if endpoint is None:
                    return self._send(404, b'{"error":"not_found"}')
                with issuer._lock:
                    issuer._counts[endpoint] += 1
                    fault, release = issuer._take_fault(endpoint), issuer._release
                if fault is not None and fault.kind == "hang":
                    release.wait(fault.seconds)
                elif fault is not None:
                    return self._send(fault.status, fault.body)
                doc = issuer.discovery() if endpoint == "discovery" else issuer.jwks()
                self._send(200, json.dumps(doc).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    # -- tokens ------------------------------------------------------------------------------------------------

    def claims(self, **options: Unpack[ClaimOptions]) -> dict[str, Any]:
        """The payload `token(**options)` would sign (times from now)."""
        now = time.time()

        def at(name: Literal["expires_in", "not_before_in", "issued_at_in"], default: float) -> int | None:
            offset = options.get(name, default)
            return None if offset is None else int(now + offset)

        payload: dict[str, Any] = {
            "iss": options.get("issuer", self.url),
            "sub": options.get("sub", "orchestration-tests"),
            "aud": options.get("aud"),
            "iat": at("issued_at_in", 0),
            "nbf": at("not_before_in", 0),
            "exp": at("expires_in", 300),
            "scope": options.get("scope", DEFAULT_SCOPE),
            **options.get("claims", {}),
        }
        return {k: v for k, v in payload.items() if v is not None}

    def token(self, *, key: KeyType | None = None, kid: str | None = None, stranger: bool = False,
              algorithm: str | None = None, headers: Mapping[str, Any] | None = None,
              **options: Unpack[ClaimOptions]) -> str:
        """A signed JWT: by default one the service must accept (current key, valid for 5 minutes).

        Args:
            key: sign with the newest published key of this type (`"rsa"` → RS256, `"ec"` → ES256) instead of
                the current key.
            kid: sign with this key of the issuer's, even one dropped from the JWKS (a kid the verifier does
                not know). For an unknown kid in the header only: `headers={"kid": "no-such-kid"}`.
            stranger: sign with a key of the same type that was never published, keeping the chosen key's kid
                in the header: a token whose signature does not verify.
            algorithm: sign with this algorithm instead of the key's own (e.g. `RS512`, `PS256` with an RSA key).
            headers: header fields to add or override after signing choices (`{"alg": "ES256"}` lies about the
                algorithm); a `None` value removes the field (`{"kid": None}`: no kid).
            **options: the claims, see `ClaimOptions` (`scope=None`, `expires_in=-60`, `issuer="http://evil"`...).
        """
        chosen = self._choose(key, kid)
        private = self._stranger(chosen.type) if stranger else chosen.private_key
        alg = algorithm or chosen.alg
        header = self._header({"alg": alg, "typ": "JWT", "kid": chosen.kid}, headers)
        return _signed(_json_b64(header), _json_b64(self.claims(**options)), private, alg)

    def forged_none(self, **options: Unpack[ClaimOptions]) -> str:
        """`alg: none`, unsigned (`header.payload.`), with the current kid: must be refused whatever the claims."""
        header = {"alg": "none", "typ": "JWT", "kid": self._current}
        return f"{_json_b64(header)}.{_json_b64(self.claims(**options))}."

    def forged_hs256_with_public_key(self, *, kid: str | None = None, **options: Unpack[ClaimOptions]) -> str:
        """HS256 keyed with the public key PEM of `kid` (default current): the RS/HS key-confusion attack.

        A verifier that takes the algorithm from the token and hands the JWKS key to HMAC would accept it.
        """
        chosen = self.key(kid)
        header = {"alg": "HS256", "typ": "JWT", "kid": chosen.kid}
        signing_input = f"{_json_b64(header)}.{_json_b64(self.claims(**options))}"
        mac = hmac.new(chosen.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    def tampered(self, changes: Mapping[str, Any] | None = None, *, key: KeyType | None = None,
                 **options: Unpack[ClaimOptions]) -> str:
        """A good token whose payload was then edited (`changes`, default `{"sub": "admin"}`), old signature kept.

        `tampered({"scope": "orchestration:read orchestration:write"}, scope="orchestration:read")` grants a
        scope the issuer never signed.
        """
        header, payload, signature = self.token(key=key, **options).split(".")
        edited = {**json.loads(base64url_decode(payload)), **(changes if changes is not None else {"sub": "admin"})}
        return f"{header}.{_json_b64(edited)}.{signature}"

    def forged_header_not_json(self, **options: Unpack[ClaimOptions]) -> str:
        """A token whose header segment decodes to bytes that are not JSON, signed by the current key."""
        chosen = self.key()
        return _signed(_b64(b"{not json"), _json_b64(self.claims(**options)), chosen.private_key, chosen.alg)

    def _choose(self, key: KeyType | None, kid: str | None) -> IssuerKey:
        with self._lock:
            if kid is not None:
                return self._keys[kid]
            if key is None:
                return self._keys[self._current]
            for published in reversed(self._published):
                if self._keys[published].type == key:
                    return self._keys[published]
        raise ValueError(f"no published {key} key: rotate(key={key!r}) first")

    def _stranger(self, key_type: KeyType) -> PrivateKey:
        with self._lock:
            if key_type not in self._strangers:
                self._strangers[key_type] = _new_key(key_type)
            return self._strangers[key_type]

    @staticmethod
    def _header(base: dict[str, Any], headers: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = {**base, **(headers or {})}
        return {k: v for k, v in merged.items() if v is not None}


def _signed(header: str, payload: str, key: PrivateKey, alg: str) -> str:
    """`header.payload.signature` from base64url segments, signed by PyJWT's implementation of `alg`."""
    signing_input = f"{header}.{payload}"
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{_b64(signature)}"
