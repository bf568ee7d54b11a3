"""Fixtures of the client's tests: a real server on embedded SQLite with authentication on, connected
to the fake Formance stack; a local OpenID issuer with a token endpoint; and the `orchestration`
command run in the test's process (click's `CliRunner`), with a valid token unless a test says otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from orchestration.cli import main
from tests.client.oauth import TokenEndpoint
from tests.conftest import FAST_RETRIES, WEBHOOK_SECRETS
from tests.testing.fake_stack import FakeStack
from tests.testing.oidc import OidcIssuer
from tests.testing.server import ServerProcess

# Set around each run, so that the environment the tests run in changes nothing.
CLIENT_VARIABLES = (
    "ORCHESTRATION_URL", "ORCHESTRATION_TOKEN", "ORCHESTRATION_CLIENT_ID", "ORCHESTRATION_CLIENT_SECRET",
    "ORCHESTRATION_ISSUER", "ORCHESTRATION_SCOPE", "ORCHESTRATION_TIMEOUT",
)  # fmt: skip


@pytest.fixture(scope="session")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(path="/api/auth") as issuer:
        yield issuer


@pytest.fixture(scope="session")
def token_endpoint(issuer: OidcIssuer) -> Iterator[TokenEndpoint]:
    """The issuer's token endpoint, named in its discovery document."""
    with TokenEndpoint(issuer) as endpoint:
        issuer.override_discovery(token_endpoint=endpoint.url)
        yield endpoint


@pytest.fixture(scope="session")
def server(
    fake_stack: FakeStack, issuer: OidcIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server for the client's tests (each test makes workflows of its own), tokens required."""
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("client"),
        extra_args=[
            *fake_stack.server_args(), *FAST_RETRIES, "--webhooks-secret", WEBHOOK_SECRETS[0],
            *issuer.server_args(),
        ],
    )  # fmt: skip
    server.start()
    yield server
    server.stop()


@dataclass
class Cli:
    """`orchestration …` in this process, against `server` unless `--server` says otherwise."""

    server: str
    env: dict[str, str | None] = field(default_factory=dict)

    def __call__(self, *args: str, input: str | bytes | None = None, **env: str | None) -> Result:
        environment: dict[str, str | None] = {name: None for name in CLIENT_VARIABLES}
        environment |= {"ORCHESTRATION_URL": self.server, **self.env, **env}
        result = CliRunner().invoke(main, list(args), input=input, env=environment, prog_name="orchestration")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback a user would see: a failed test
        return result

    def ok(self, *args: str, input: str | bytes | None = None, **env: str | None) -> Result:
        """Run, and check that it succeeded."""
        result = self(*args, input=input, **env)
        assert result.exit_code == 0, (args, result.output)
        return result

    def json(self, *args: str, input: str | bytes | None = None, **env: str | None) -> Any:
        """Run with `--output json`; what it printed, parsed."""
        return json.loads(self.ok(*args, "--output", "json", input=input, **env).stdout)


@pytest.fixture
def cli(server: ServerProcess, issuer: OidcIssuer) -> Cli:
    return Cli(server.url, {"ORCHESTRATION_TOKEN": issuer.token()})


@pytest.fixture
def api(server: ServerProcess, issuer: OidcIssuer) -> Iterator[httpx.Client]:
    """The server's v2 API, to compare with what the client shows."""
    headers = {"Authorization": f"Bearer {issuer.token()}"}
    with httpx.Client(base_url=f"{server.url}/v2", headers=headers, timeout=30) as client:
        yield client


def data(api: httpx.Client, url: str, **params: Any) -> Any:
    """`data` of a `GET` on the API."""
    res = api.get(url, params=params)
    assert res.status_code == 200, res.text
    return res.json()["data"]


def every_item(api: httpx.Client, url: str, **params: Any) -> list[Any]:
    """Every item of a v2 list, read page after page with the API's cursors."""
    page = api.get(url, params={**params, "pageSize": 100}).json()["cursor"]
    items = list(page["data"])
    while page.get("next"):
        page = api.get(url, params={"cursor": page["next"]}).json()["cursor"]
        items += page["data"]
    return items


def create_workflow(api: httpx.Client, stages: list[Any], name: str = "") -> str:
    res = api.post("/workflows", json={"name": name, "stages": stages})
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])
