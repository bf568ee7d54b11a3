"""The console on a server with authentication on: its pages and assets are open, its data
calls carry the token the page asks for, kept in the page's memory only (never in storage, which
any script of the origin can read)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.helpers import create_workflow
from tests.testing.oidc import OidcIssuer
from tests.testing.server import ServerProcess


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(path="/api/auth") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def server(issuer: OidcIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("console-auth"),
        extra_args=issuer.server_args(),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def writer(server: ServerProcess, issuer: OidcIssuer) -> Iterator[httpx.Client]:
    with server.client(headers={"Authorization": f"Bearer {issuer.token()}"}) as client:
        yield client


def test_pages_and_assets_need_no_token_but_the_api_does(server: ServerProcess) -> None:
    with server.client() as anonymous:
        for path in ("/ui/", "/ui/instances/x", "/ui/assets/app.js", "/ui/assets/console.css"):
            assert anonymous.get(path).status_code == 200, path
        assert anonymous.get("/v2/workflows").status_code == 401
    # Paths that only look like the console's reach no data: the console's 404, or the API's 401.
    tricks = ("/ui/../v2/workflows", "/ui/..%2Fv2%2Fworkflows", "/ui%2F..%2Fv2%2Fworkflows",
              "/ui/assets/../../v2/workflows", "/ui/assets/%2e%2e/%2e%2e/v2/workflows", "//ui/", "/UI/")
    for path in tricks:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", path)  # sent as written, dot segments and all
            answer = connection.getresponse()
            assert answer.status in (401, 404) and b'"data"' not in answer.read(), path
        finally:
            connection.close()


def test_the_console_asks_for_a_token_and_keeps_it_in_the_session_only(
    page: Page, server: ServerProcess, issuer: OidcIssuer, writer: httpx.Client
) -> None:
    workflow_id = create_workflow(writer, [{"noop": {}}, {"noop": {}}], name="behind a token", prefix="/v2")
    page.goto(f"{server.url}/ui/workflows/{workflow_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    page.get_by_label("Access token").fill("not-a-token")
    page.get_by_role("button", name="Use this token").click()
    expect(page.get_by_text("The token given was refused")).to_be_visible()

    token = issuer.token()
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Use this token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("behind a token")
    expect(page.locator(".flow-stage")).to_have_count(2)
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0

    # Moving between the console's pages keeps it; it goes with "Forget token", and with a reload.
    page.get_by_role("link", name="Workflows", exact=True).click()
    expect(page.get_by_role("link", name="behind a token")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("behind a token")
    page.get_by_role("button", name="Forget token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Use this token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("behind a token")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_a_read_only_token_is_told_it_may_not_abort(
    page: Page, server: ServerProcess, issuer: OidcIssuer, writer: httpx.Client
) -> None:
    workflow_id = create_workflow(writer, [{"wait_event": {"event": "never"}}], prefix="/v2")
    instance_id = writer.post(f"/v2/workflows/{workflow_id}/instances").json()["data"]["id"]
    page.goto(f"{server.url}/ui/instances/{instance_id}")
    page.get_by_label("Access token").fill(issuer.token(scope="orchestration:read"))
    page.get_by_role("button", name="Use this token").click()
    expect(page.locator(".status-line")).to_contain_text("Running")
    page.get_by_role("button", name="Abort…").click()
    page.get_by_role("dialog").get_by_role("button", name="Abort instance").click()
    expect(page.locator(".outcome.error")).to_contain_text("Your token does not allow this")
    assert writer.get(f"/v2/instances/{instance_id}").json()["data"]["terminated"] is False
