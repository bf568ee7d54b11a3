"""Authentication: a token given, or fetched with client credentials from the local OpenID issuer whose
discovery document names its token endpoint (the tests' server requires tokens, see conftest)."""

from __future__ import annotations

import pytest

from tests.client.conftest import Cli
from tests.client.oauth import CLIENT_ID, CLIENT_SECRET, TokenEndpoint
from tests.testing.oidc import OidcIssuer
from tests.testing.server import ServerProcess, free_port


@pytest.fixture
def cli(server: ServerProcess) -> Cli:
    """The client with no token of its own."""
    return Cli(server.url)


def test_without_a_token_the_401_says_how_to_give_one(cli: Cli) -> None:
    result = cli("workflows", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the server wants a valid token (401 VALIDATION: ")
    assert "pass a token with --token (ORCHESTRATION_TOKEN), or client credentials" in result.stderr


def test_a_token_from_the_flag_or_the_environment_is_sent(cli: Cli, issuer: OidcIssuer) -> None:
    created = cli.json("workflows", "create", "-", "--token", issuer.token(), input='{"stages": [{"noop": {}}]}')
    shown = cli.json("workflows", "show", created["id"], ORCHESTRATION_TOKEN=issuer.token())
    assert shown == created
    refused = cli("workflows", "list", "--token", issuer.token(expires_in=-120))
    assert refused.exit_code == 1 and "check that the token has not expired" in refused.stderr


def test_a_read_only_token_cannot_write(cli: Cli, issuer: OidcIssuer) -> None:
    result = cli("workflows", "create", "-", "--token", issuer.token(scope="orchestration:read"), input="stages: []")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the token does not allow this (403 VALIDATION: ")
    assert "orchestration:write" in result.stderr


def test_client_credentials_fetch_a_token_from_the_issuer(
    cli: Cli, issuer: OidcIssuer, token_endpoint: TokenEndpoint
) -> None:
    flags = ("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--issuer", issuer.url)
    created = cli.json("workflows", "create", "-", *flags, input='{"stages": [{"noop": {}}]}')
    assert token_endpoint.requests[-1] == {
        "grant_type": "client_credentials", "scope": "orchestration:read orchestration:write",
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "basic": True,
    }  # fmt: skip
    by_environment = dict(
        ORCHESTRATION_CLIENT_ID=CLIENT_ID, ORCHESTRATION_CLIENT_SECRET=CLIENT_SECRET, ORCHESTRATION_ISSUER=issuer.url
    )
    assert created["id"] in {w["id"] for w in cli.json("workflows", "list", "--all", **by_environment)}


def test_a_refused_token_is_fetched_again_once(cli: Cli, issuer: OidcIssuer, token_endpoint: TokenEndpoint) -> None:
    token_endpoint.next_claims = [{"expires_in": -120}]  # the first token is refused, the second is good
    before = len(token_endpoint.requests)
    flags = ("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--issuer", issuer.url)
    cli.json("workflows", "list", *flags)
    assert len(token_endpoint.requests) == before + 2


def test_credentials_the_issuer_refuses_exit_1(cli: Cli, issuer: OidcIssuer, token_endpoint: TokenEndpoint) -> None:
    result = cli("workflows", "list", "--client-id", CLIENT_ID, "--client-secret", "wrong", "--issuer", issuer.url)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: the issuer refused the client credentials (401: invalid_client: unknown client); check --client-id"
    )


def test_an_unreachable_issuer_exits_3(cli: Cli) -> None:
    issuer = f"http://127.0.0.1:{free_port()}/api/auth"
    result = cli("workflows", "list", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--issuer", issuer)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: cannot reach the issuer at {issuer}/.well-known/openid-configuration")
