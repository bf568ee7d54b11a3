"""What the console says when the API cannot help: an id that names nothing, a server that
does not answer (at first, or while a page updates itself)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, Route, expect

from tests.integration.helpers import create_workflow, run

API_CALLS = "**/v2/**"


def refuse(route: Route) -> None:
    route.abort("connectionrefused")


def test_an_unknown_id_is_said_not_found(page: Page, client: httpx.Client) -> None:
    for kind, what in (("instances", "instance"), ("workflows", "workflow"), ("triggers", "trigger")):
        page.goto(f"{client.base_url}/ui/{kind}/00000000-0000-4000-8000-000000000000")
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(page.locator("main")).to_contain_text(f"There is no {what} with this id")


def test_an_unknown_address_is_said_not_found(page: Page, client: httpx.Client) -> None:
    page.goto(f"{client.base_url}/ui/nothing/here")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    page.get_by_role("link", name="Go to the overview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


def test_an_unreachable_server_is_said_and_tried_again(page: Page, client: httpx.Client) -> None:
    page.route(API_CALLS, refuse)
    page.goto(f"{client.base_url}/ui/workflows")
    expect(page.get_by_role("heading", level=1)).to_have_text("Server unreachable")
    page.unroute(API_CALLS)
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Workflows")


def test_a_page_that_loses_the_server_says_so_and_recovers(page: Page, client: httpx.Client) -> None:
    instance_id = run(client, create_workflow(client, [{"wait_event": {"event": "never"}}], prefix="/v2"))["id"]
    page.goto(f"{client.base_url}/ui/instances/{instance_id}")
    expect(page.locator(".status-line")).to_contain_text("Running")
    page.route(API_CALLS, refuse)
    notice = page.get_by_role("status").filter(has_text="cannot be reached")
    expect(notice).to_be_visible()
    expect(page.locator(".status-line")).to_contain_text("Running")  # what was shown stays
    page.unroute(API_CALLS)
    notice.get_by_role("button", name="Try again now").click()
    expect(notice).to_be_hidden()
    assert client.put(f"/v2/instances/{instance_id}/abort").status_code == 204
