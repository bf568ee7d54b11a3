"""Bearer tokens on every route (spec §2.2, issue: secure by default), against a real server and
a local OpenID issuer: every operation of the OpenAPI document, and a table of bad tokens."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.helpers import assert_error
from tests.testing.oidc import GARBAGE_TOKENS, OidcIssuer
from tests.testing.server import ServerProcess, eventually

OPEN = {"/_info", "/v2/_info", "/_healthcheck", "/v2/webhooks"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(path="/api/auth") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def server(issuer: OidcIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("auth"),
        extra_args=[*issuer.server_args(), "--webhooks-secret", "s"],
    )
    server.start()
    yield server
    server.stop()


def operations(server: ServerProcess) -> list[tuple[str, str]]:
    """Every (method, path) of the document, path parameters filled with an id that names nothing."""
    document = httpx.get(f"{server.url}/openapi.json").json()
    found = []
    for path, methods in document["paths"].items():
        concrete = path
        for name in ("workflowId", "instanceId", "triggerID"):
            concrete = concrete.replace("{" + name + "}", str(uuid.uuid4()))
        concrete = concrete.replace("{number}", "0")
        found += [(method.upper(), concrete) for method in methods]
    return found


_clients: dict[str, httpx.Client] = {}


def call(server: ServerProcess, method: str, path: str, token: str | None) -> httpx.Response:
    """One request on a kept-alive connection; the token's bytes as sent (any UTF-8 a client puts there)."""
    client = _clients.setdefault(server.url, httpx.Client(base_url=server.url, timeout=30))
    headers = [(b"authorization", f"Bearer {token}".encode())] if token is not None else []
    return client.request(method, path, headers=headers, json={})


REFUSED: dict[str, Callable[[OidcIssuer], str]] = {
    "expired": lambda i: i.token(expires_in=-120),
    # Valid an hour from now (beyond the table's run and the skew), and not expired then.
    "not-yet-valid": lambda i: i.token(not_before_in=3600, expires_in=7200),
    "wrong-issuer": lambda i: i.token(issuer="http://127.0.0.1:1/api/auth"),
    "no-exp": lambda i: i.token(expires_in=None),
    "alg-none": lambda i: i.forged_none(),
    "hs256-with-public-key": lambda i: i.forged_hs256_with_public_key(),
    "wrong-signature": lambda i: i.token(stranger=True),
    "tampered": lambda i: i.tampered({"scope": "orchestration:write"}),
    "unknown-kid": lambda i: i.token(headers={"kid": "no-such-kid"}),
    "header-not-json": lambda i: i.forged_header_not_json(),
    "alg-lies": lambda i: i.token(headers={"alg": "ES256"}),
    "huge-claims-expired": lambda i: i.token(claims={"blob": "x" * 6000}, expires_in=-120),
    "alg-a-list": lambda i: i.token(headers={"alg": ["RS256"]}),
    "alg-an-object": lambda i: i.token(headers={"alg": {"a": 1}}),
    "alg-not-ascii": lambda i: i.token(headers={"alg": "\u20ac"}),
    "alg-with-quotes": lambda i: i.token(headers={"alg": 'x", error="pwn'}),
    "kid-a-number": lambda i: i.token(headers={"kid": 5}),
    "kid-a-list": lambda i: i.token(headers={"kid": ["a"]}),
    "crit": lambda i: i.token(headers={"crit": ["exp"]}),
    "no-kid-among-several-keys": lambda i: i.token(headers={"kid": None}),
}

# RFC 6750 §3: `Bearer` and auth-params whose quoted strings hold no quote or backslash.
CHALLENGE = re.compile(r'Bearer realm="orchestration"(, [a-z_]+="[ !#-\[\]-~]*")*')


def bad_tokens(issuer: OidcIssuer) -> dict[str, str | None]:
    # (An empty token makes a header with trailing space, which HTTP clients refuse to send.)
    garbage = {f"garbage-{n}": g for n, g in enumerate(GARBAGE_TOKENS) if g.strip()}
    tokens: dict[str, str | None] = {"missing": None, **garbage}
    return tokens | {name: make(issuer) for name, make in REFUSED.items()}


def assert_refused(server: ServerProcess, method: str, path: str, name: str, token: str | None) -> None:
    res = call(server, method, path, token)
    assert res.status_code == 401, f"{name} on {method} {path}: {res.status_code} {res.text[:200]}"
    assert res.json()["errorCode"] == "VALIDATION" and res.json()["errorMessage"], name
    assert CHALLENGE.fullmatch(res.headers["WWW-Authenticate"]), (name, res.headers["WWW-Authenticate"])


def guarded_operations(server: ServerProcess) -> list[tuple[str, str]]:
    return [(m, p) for m, p in operations(server) if p.removeprefix("/api/orchestration") not in OPEN]


def test_every_operation_refuses_a_missing_or_bad_token(server: ServerProcess, issuer: OidcIssuer) -> None:
    # Tokens are checked before routing: a few kinds on every route prove that none escapes;
    # every kind is tried on a route of each method in the next test.
    tokens = {name: token for name, token in bad_tokens(issuer).items()
              if name in ("missing", "garbage-1", "expired", "alg-none", "wrong-signature", "tampered")}
    assert len(tokens) == 6  # none of the kinds renamed away
    for method, path in guarded_operations(server):
        for name, token in tokens.items():
            assert_refused(server, method, path, name, token)


def test_every_bad_token_is_refused_on_a_route_of_each_method(server: ServerProcess, issuer: OidcIssuer) -> None:
    first_of_each_method = {method: path for method, path in reversed(guarded_operations(server))}
    routes = [*first_of_each_method.items(), ("GET", "/api/orchestration/v2/instances")]
    assert {method for method, _ in routes} >= {"GET", "POST", "PUT", "DELETE"}
    for name, token in bad_tokens(issuer).items():
        for method, path in routes:
            assert_refused(server, method, path, name, token)


def test_scopes_decide_between_reading_and_writing(server: ServerProcess, issuer: OidcIssuer) -> None:
    read, write = issuer.token(scope="orchestration:read"), issuer.token(scope="orchestration:write")
    none, other = issuer.token(scope=None), issuer.token(scope="ledger:write wallets:read")
    for method, path in operations(server):
        if path.removeprefix("/api/orchestration") in OPEN:
            continue
        reading = method == "GET"
        for name, token, allowed in (("read", read, reading), ("write", write, True), ("none", none, False),
                                     ("other", other, False)):
            res = call(server, method, path, token)
            if allowed:
                assert res.status_code not in (401, 403), f"{name} on {method} {path}: {res.text[:200]}"
            else:
                assert_error(res, 403, "VALIDATION", "scopes do not allow")
                assert 'error="insufficient_scope"' in res.headers["WWW-Authenticate"]


def test_a_valid_token_drives_the_api(server: ServerProcess, issuer: OidcIssuer) -> None:
    token = issuer.token(key="ec")  # ES256 as well as RS256
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        created = client.post("/v2/workflows", json={"stages": [{"noop": {}}]})
        assert created.status_code == 201, created.text
        ran = client.post(f"/v2/workflows/{created.json()['data']['id']}/instances", params={"wait": "true"})
        assert ran.status_code == 201 and ran.json()["data"]["terminated"] is True
        assert client.get("/api/orchestration/v2/instances").status_code == 200


def test_probes_documents_and_webhooks_stay_open(server: ServerProcess) -> None:
    for path in ("/_info", "/v2/_info", "/_healthcheck", "/api/orchestration/_info", "/openapi.json", "/docs"):
        assert httpx.get(f"{server.url}{path}").status_code == 200, path
    # Webhooks authenticate by signature: an unsigned one is refused as such, not for want of a token.
    assert_error(httpx.post(f"{server.url}/v2/webhooks", json={}), 401, "VALIDATION", "unsigned webhook")


def test_metrics_need_a_read_token_unless_opened(server: ServerProcess, issuer: OidcIssuer, tmp_path: Any) -> None:
    assert_error(call(server, "GET", "/metrics", None), 401, "VALIDATION", "bearer token")
    assert call(server, "GET", "/metrics", issuer.token(scope="orchestration:read")).status_code == 200
    assert call(server, "GET", "/metrics", issuer.token(scope="ledger:read")).status_code == 403
    opened = ServerProcess(
        data_dir=tmp_path / "data", extra_args=["--auth-enabled", "--auth-issuer", issuer.url, "--metrics-open"]
    ).start()
    try:
        res = httpx.get(f"{opened.url}/metrics")
        assert res.status_code == 200 and "orchestration_instances_running" in res.text
        assert call(opened, "GET", "/v2/workflows", None).status_code == 401  # only /metrics is opened
    finally:
        opened.stop()


def test_rotated_keys_are_read_again_and_a_forged_kid_does_not_hammer_the_issuer(
    server: ServerProcess, issuer: OidcIssuer
) -> None:
    new_kid = issuer.rotate(key="ec")
    token = issuer.token(kid=new_kid)
    eventually(lambda: call(server, "GET", "/v2/workflows", token).status_code, lambda status: status == 200,
               what="the rotated key to be read")
    reads, started = issuer.keys_requests, time.monotonic()
    for _ in range(20):
        assert call(server, "GET", "/v2/workflows", issuer.token(headers={"kid": "forged"})).status_code == 401
    # At most one reading a second, whatever the number of forgeries.
    assert issuer.keys_requests - reads <= 1 + (time.monotonic() - started)


def test_bad_authorization_headers(server: ServerProcess, issuer: OidcIssuer) -> None:
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "bearer", "Token abc", "Bearer " + "a" * 8000):
        res = httpx.get(f"{server.url}/v2/workflows", headers={"Authorization": header})
        assert res.status_code in (401, 431), f"{header[:20]}: {res.status_code}"
        if res.status_code == 401:
            assert res.json()["errorCode"] == "VALIDATION"
    lowercase = httpx.get(f"{server.url}/v2/workflows", headers={"Authorization": f"bearer {issuer.token()}"})
    assert lowercase.status_code == 200


def test_an_unreachable_issuer_lets_nothing_through(tmp_path: Any) -> None:
    with OidcIssuer() as issuer:
        token = issuer.token()
        issuer.fail(500)  # until healed
        server = ServerProcess(
            data_dir=tmp_path / "data",
            extra_args=["--auth-enabled", "--auth-issuer", issuer.url, "--auth-read-key-set-max-retries", "1"],
        ).start()
        try:
            res = call(server, "GET", "/v2/workflows", token)
            assert_error(res, 503, "INTERNAL", "issuer is unreachable")
            reads = issuer.discovery_requests
            for _ in range(10):  # refused again and again, reading the issuer at most once a second
                assert call(server, "GET", "/v2/workflows", token).status_code == 503
            assert issuer.discovery_requests - reads <= 2
            issuer.heal()
            eventually(lambda: call(server, "GET", "/v2/workflows", token).status_code, lambda s: s == 200,
                       what="the keys read once the issuer answers again")
        finally:
            server.stop()


def test_a_key_the_issuer_dropped_stops_verifying(server: ServerProcess, issuer: OidcIssuer) -> None:
    old = issuer.token()
    assert call(server, "GET", "/v2/workflows", old).status_code == 200  # verified, and remembered
    new_kid = issuer.rotate(drop_old=True)
    eventually(lambda: call(server, "GET", "/v2/workflows", issuer.token(kid=new_kid)).status_code,
               lambda s: s == 200, what="the new key to be read")
    assert_error(call(server, "GET", "/v2/workflows", old), 401, "VALIDATION", "not one of the issuer's")


def test_the_issuer_is_compared_as_configured(tmp_path: Any) -> None:
    with OidcIssuer() as issuer:
        server = ServerProcess(
            data_dir=tmp_path / "data", extra_args=["--auth-enabled", "--auth-issuer", issuer.url + "/"]
        ).start()
        try:
            assert call(server, "GET", "/v2/workflows", issuer.token(issuer=issuer.url + "/")).status_code == 200
            assert call(server, "GET", "/v2/workflows", issuer.token()).status_code == 401  # no trailing slash
        finally:
            server.stop()
