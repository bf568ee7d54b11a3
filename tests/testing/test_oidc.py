"""The local OpenID issuer, over real HTTP: discovery, JWKS, tokens good and bad, counters and faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.testing.oidc import ASYMMETRIC_ALGORITHMS, DEFAULT_SCOPE, GARBAGE_TOKENS, OidcIssuer
from tests.testing.waiting import eventually

PRIVATE_JWK_FIELDS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def shared() -> Iterator[OidcIssuer]:
    """An issuer for tests that change nothing of it (no rotation, no fault left behind)."""
    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer() as issuer:
        yield issuer


def verify(issuer: OidcIssuer, token: str, client: jwt.PyJWKClient | None = None) -> dict[str, Any]:
    """Verify as the service must: key by kid from the JWKS, asymmetric algorithms only, iss and exp required.

    The `PyJWK` itself goes to `decode`, which binds the algorithm to the key: given the bare key, PyJWT takes
    the algorithm from the header and a kid/alg mismatch surfaces as a TypeError.
    """
    client = client or jwt.PyJWKClient(issuer.jwks_uri, cache_jwk_set=False)
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=ASYMMETRIC_ALGORITHMS, issuer=issuer.url,
                                        options={"require": ["exp", "iss"], "verify_aud": False})
    return claims


def segment(token: str, index: int) -> Any:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# -- discovery and keys ----------------------------------------------------------------------------------------


def test_discovery_document_points_at_the_keys(shared: OidcIssuer) -> None:
    doc = httpx.get(shared.discovery_url).json()
    assert doc["issuer"] == shared.url == shared.base_url
    assert doc["jwks_uri"] == shared.url + "/keys" == shared.jwks_uri
    assert set(doc["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}


def test_jwks_publishes_public_rsa_and_ec_keys_only(shared: OidcIssuer) -> None:
    keys = httpx.get(shared.jwks_uri).json()["keys"]
    assert {(k["kty"], k["alg"]) for k in keys} == {("RSA", "RS256"), ("EC", "ES256")}
    assert all(k["use"] == "sig" and k["kid"] for k in keys)
    assert not any(PRIVATE_JWK_FIELDS & set(k) for k in keys)
    assert shared.current_kid in {k["kid"] for k in keys}


def test_issuer_with_a_path_serves_discovery_and_keys_under_it() -> None:
    with OidcIssuer(path="/api/auth") as issuer:
        assert issuer.url == issuer.base_url + "/api/auth"
        doc = httpx.get(issuer.base_url + "/api/auth/.well-known/openid-configuration").json()
        assert doc["issuer"] == issuer.url
        assert doc["jwks_uri"] == issuer.base_url + "/api/auth/keys"
        assert len(httpx.get(doc["jwks_uri"]).json()["keys"]) == 2
        assert httpx.get(issuer.base_url + "/.well-known/openid-configuration").status_code == 404
        assert verify(issuer, issuer.token())["iss"] == issuer.url


def test_discovery_overrides_change_and_remove_fields(issuer: OidcIssuer) -> None:
    issuer.override_discovery(issuer="http://evil", jwks_uri=None)
    doc = httpx.get(issuer.discovery_url).json()
    assert doc["issuer"] == "http://evil" and "jwks_uri" not in doc


# -- good tokens -----------------------------------------------------------------------------------------------


def test_default_token_verifies_with_the_key_from_the_jwks(shared: OidcIssuer) -> None:
    token = shared.token()
    claims = verify(shared, token)
    assert segment(token, 0) == {"alg": "RS256", "typ": "JWT", "kid": shared.current_kid}
    assert claims["iss"] == shared.url and claims["scope"] == DEFAULT_SCOPE and claims["sub"]
    assert claims["exp"] - claims["iat"] == 300 and claims["nbf"] == claims["iat"]
    assert "aud" not in claims


def test_ec_token_verifies_with_es256(shared: OidcIssuer) -> None:
    token = shared.token(key="ec")
    assert segment(token, 0)["alg"] == "ES256"
    assert verify(shared, token)["iss"] == shared.url


def test_token_options_set_and_remove_claims(shared: OidcIssuer) -> None:
    token = shared.token(scope=None, sub="client-7", aud=["orchestration"], claims={"iat": None, "roles": ["x"]})
    claims = verify(shared, token)
    assert "scope" not in claims and "iat" not in claims
    assert claims["sub"] == "client-7" and claims["aud"] == ["orchestration"] and claims["roles"] == ["x"]


def test_a_huge_claim_is_signed_like_any_other(shared: OidcIssuer) -> None:
    token = shared.token(claims={"blob": "x" * 200_000})
    assert len(token) > 200_000 and len(verify(shared, token)["blob"]) == 200_000


def test_header_tweaks_add_and_remove_fields(shared: OidcIssuer) -> None:
    assert segment(shared.token(headers={"kid": None, "typ": None, "x5u": "http://evil"}), 0) == {
        "alg": "RS256", "x5u": "http://evil"}


def test_unknown_kid_or_key_choice_is_refused_when_minting(issuer: OidcIssuer) -> None:
    with pytest.raises(KeyError):
        issuer.token(kid="never-made")
    issuer.rotate(drop_old=True)
    with pytest.raises(ValueError, match="no published ec key"):
        issuer.token(key="ec")


# -- rotation --------------------------------------------------------------------------------------------------


def test_rotate_changes_the_current_kid_and_the_jwks(issuer: OidcIssuer) -> None:
    old = issuer.current_kid
    new = issuer.rotate()
    assert new == issuer.current_kid != old
    kids = [k["kid"] for k in httpx.get(issuer.jwks_uri).json()["keys"]]
    assert old in kids and new in kids
    assert segment(issuer.token(), 0)["kid"] == new
    assert verify(issuer, issuer.token(kid=old))["iss"] == issuer.url  # old keys still verify until dropped


def test_rotate_dropping_old_keys_leaves_their_tokens_with_an_unknown_kid(issuer: OidcIssuer) -> None:
    old = issuer.current_kid
    new = issuer.rotate(key="ec", drop_old=True)
    assert [k["kid"] for k in httpx.get(issuer.jwks_uri).json()["keys"]] == [new] == issuer.published_kids
    assert verify(issuer, issuer.token())["iss"] == issuer.url
    with pytest.raises(jwt.PyJWKClientError, match="Unable to find a signing key"):
        verify(issuer, issuer.token(kid=old))


# -- bad tokens ------------------------------------------------------------------------------------------------

BAD_TOKENS: dict[str, tuple[Callable[[OidcIssuer], str], type[jwt.PyJWTError]]] = {
    "expired": (lambda i: i.token(expires_in=-60), jwt.ExpiredSignatureError),
    "not-yet-valid": (lambda i: i.token(not_before_in=60), jwt.ImmatureSignatureError),
    "issued-in-the-future": (lambda i: i.token(issued_at_in=3600), jwt.ImmatureSignatureError),
    "no-exp": (lambda i: i.token(expires_in=None), jwt.MissingRequiredClaimError),
    "no-iss": (lambda i: i.token(issuer=None), jwt.MissingRequiredClaimError),
    "other-issuer": (lambda i: i.token(issuer="http://evil"), jwt.InvalidIssuerError),
    "stranger-rsa": (lambda i: i.token(stranger=True), jwt.InvalidSignatureError),
    "stranger-ec": (lambda i: i.token(key="ec", stranger=True), jwt.InvalidSignatureError),
    "unknown-kid": (lambda i: i.token(headers={"kid": "no-such-kid"}), jwt.PyJWKClientError),
    "no-kid": (lambda i: i.token(headers={"kid": None}), jwt.PyJWKClientError),
    "rs512": (lambda i: i.token(algorithm="RS512"), jwt.InvalidAlgorithmError),
    "alg-not-the-keys": (lambda i: i.token(headers={"alg": "ES256"}), jwt.InvalidAlgorithmError),
    "ec-kid-rsa-signature": (lambda i: i.token(headers={"kid": segment(i.token(key="ec"), 0)["kid"]}),
                             jwt.InvalidAlgorithmError),
    "alg-none": (lambda i: i.forged_none(), jwt.InvalidAlgorithmError),
    "hs256-public-key": (lambda i: i.forged_hs256_with_public_key(), jwt.InvalidAlgorithmError),
    "tampered": (lambda i: i.tampered(), jwt.InvalidSignatureError),
    "header-not-json": (lambda i: i.forged_header_not_json(), jwt.DecodeError),
}


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_token_fails_verification(shared: OidcIssuer,
                                      make: tuple[Callable[[OidcIssuer], str], type[jwt.PyJWTError]]) -> None:
    mint, error = make
    with pytest.raises(error):
        verify(shared, mint(shared))


@pytest.mark.parametrize("token", GARBAGE_TOKENS)
def test_garbage_fails_verification(shared: OidcIssuer, token: str) -> None:
    with pytest.raises(jwt.DecodeError):
        verify(shared, token)


def test_forged_none_is_unsigned_with_good_claims(shared: OidcIssuer) -> None:
    token = shared.forged_none()
    assert token.endswith(".") and segment(token, 0)["alg"] == "none"
    assert segment(token, 1)["iss"] == shared.url and segment(token, 1)["scope"] == DEFAULT_SCOPE


def test_forged_hs256_is_an_hmac_keyed_with_the_public_key_pem(shared: OidcIssuer) -> None:
    token = shared.forged_hs256_with_public_key()
    signing_input, _, signature = token.rpartition(".")
    pem = shared.key().public_pem
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    expected = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature
    assert segment(token, 0) == {"alg": "HS256", "typ": "JWT", "kid": shared.current_kid}


def test_tampered_token_carries_the_edited_claims(shared: OidcIssuer) -> None:
    token = shared.tampered({"scope": "orchestration:read orchestration:write"}, scope="orchestration:read")
    assert segment(token, 1)["scope"] == "orchestration:read orchestration:write"
    with pytest.raises(jwt.InvalidSignatureError):
        verify(shared, token)


# -- counters --------------------------------------------------------------------------------------------------


def test_counters_count_discovery_and_key_requests(issuer: OidcIssuer) -> None:
    httpx.get(issuer.discovery_url)
    httpx.get(issuer.discovery_url)
    client = jwt.PyJWKClient(issuer.jwks_uri, cooldown_duration=0)  # caches the key set, refetches at once
    verify(issuer, issuer.token(), client)
    verify(issuer, issuer.token(key="ec"), client)
    assert (issuer.discovery_requests, issuer.keys_requests) == (2, 1)
    with pytest.raises(jwt.PyJWKClientError):
        verify(issuer, issuer.token(headers={"kid": "no-such-kid"}), client)
    assert issuer.keys_requests == 2  # an unknown kid refetches the key set once
    issuer.reset_counters()
    assert (issuer.discovery_requests, issuer.keys_requests) == (0, 0)


# -- faults ----------------------------------------------------------------------------------------------------


def test_fail_answers_500_until_healed(issuer: OidcIssuer) -> None:
    issuer.fail(500)
    assert httpx.get(issuer.discovery_url).status_code == 500
    assert httpx.get(issuer.jwks_uri).status_code == 500
    with pytest.raises(jwt.PyJWKClientError):
        verify(issuer, issuer.token())
    assert issuer.keys_requests == 2  # failed requests count too
    issuer.heal()
    assert httpx.get(issuer.jwks_uri).status_code == 200


def test_fail_can_target_one_endpoint_a_number_of_times(issuer: OidcIssuer) -> None:
    issuer.fail(503, endpoint="keys", times=2)
    assert httpx.get(issuer.discovery_url).status_code == 200
    assert [httpx.get(issuer.jwks_uri).status_code for _ in range(3)] == [503, 503, 200]


def test_fail_with_status_200_serves_a_broken_key_set(issuer: OidcIssuer) -> None:
    issuer.fail(200, body=b"not json", endpoint="keys")
    assert httpx.get(issuer.jwks_uri).content == b"not json"
    with pytest.raises(ValueError):  # PyJWT lets the JSONDecodeError through
        verify(issuer, issuer.token())


def test_hang_holds_requests_until_healed(issuer: OidcIssuer) -> None:
    issuer.hang(30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(issuer.jwks_uri, timeout=0.2)
    answers: list[int] = []
    waiter = threading.Thread(target=lambda: answers.append(httpx.get(issuer.jwks_uri, timeout=30).status_code))
    waiter.start()
    eventually(lambda: issuer.keys_requests, lambda n: n == 2, what="the second hung request")
    issuer.heal()
    waiter.join(10)
    assert answers == [200]


def test_hang_is_bounded(issuer: OidcIssuer) -> None:
    with pytest.raises(ValueError):
        issuer.hang(0)
    with pytest.raises(ValueError):
        issuer.hang(3600)


def test_stop_refuses_connections_and_start_serves_again_on_the_same_port(issuer: OidcIssuer) -> None:
    url, kid = issuer.jwks_uri, issuer.current_kid
    issuer.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
    with pytest.raises(jwt.PyJWKClientError):
        verify(issuer, issuer.token())
    issuer.start()
    assert issuer.jwks_uri == url
    assert kid in [k["kid"] for k in httpx.get(url).json()["keys"]]
    assert verify(issuer, issuer.token())["iss"] == issuer.url


def test_stop_lets_go_of_hung_requests(issuer: OidcIssuer) -> None:
    issuer.hang(30)
    answers: list[object] = []

    def get() -> None:
        try:
            answers.append(httpx.get(issuer.jwks_uri, timeout=30).status_code)
        except httpx.HTTPError as e:
            answers.append(type(e))

    waiter = threading.Thread(target=get)
    waiter.start()
    eventually(lambda: issuer.keys_requests, lambda n: n == 1, what="the hung request")
    issuer.stop()
    waiter.join(10)
    assert not waiter.is_alive() and len(answers) == 1
