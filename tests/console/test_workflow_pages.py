"""Workflows in the console: the list, a workflow's stages drawn as a flow, and a run started
from its page, followed live to its end (an event sent through the page's form)."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Page, expect

from tests.console.conftest import screenshot
from tests.integration.helpers import create_workflow, get_instance

HOSTILE_NAME = '<img src=x onerror="window.pwned=1"> payouts & <b>refunds</b>'


def test_the_workflow_page_draws_its_stages_as_a_flow(page: Page, client: httpx.Client) -> None:
    stages = [
        {"send": {"source": {"account": {"id": "world", "ledger": "main"}},
                  "destination": {"account": {"id": "users:${userID}", "ledger": "main"}},
                  "amount": {"amount": "${amount}", "asset": "USD/2"}}},
        {"wait_event": {"event": "confirmed"}},
        {"delay": {"duration": "10m"}},
        {"update": {"account": {"id": "users:${userID}", "metadata": {"paid": "true"}}}},
        {"noop": {}},
    ]  # fmt: skip
    workflow_id = create_workflow(client, stages, name="Pay a user, then mark them paid", prefix="/v2")
    page.goto(f"{client.base_url}/ui/workflows/{workflow_id}")

    expect(page.get_by_role("heading", level=1)).to_have_text("Pay a user, then mark them paid")
    boxes = page.locator(".flow-stage")
    expect(boxes).to_have_count(len(stages))
    expect(page.locator(".flow-type")).to_have_text(["send", "wait_event", "delay", "update", "noop"])
    expect(boxes.nth(0)).to_contain_text("Send ${amount} USD/2 from account world on main to account users:${userID}")
    expect(boxes.nth(1)).to_contain_text("Wait for the event “confirmed”")
    expect(page.locator(".facts")).to_contain_text(workflow_id)
    # The run form offers the definition's placeholders as variables.
    assert set(eval_json(page, "#run-variables")) == {"amount", "userID"}
    screenshot(page, "workflow-flow")


def test_what_users_wrote_is_shown_as_text(page: Page, client: httpx.Client) -> None:
    workflow_id = create_workflow(client, [{"wait_event": {"event": HOSTILE_NAME}}], name=HOSTILE_NAME, prefix="/v2")
    page.goto(f"{client.base_url}/ui/workflows/{workflow_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    expect(page.locator(".flow-text")).to_have_text(f"Wait for the event “{HOSTILE_NAME}”")
    page.get_by_role("button", name="Run workflow").click()
    expect(page.get_by_label("Event name")).to_have_value(HOSTILE_NAME)
    expect(page.get_by_role("link", name=HOSTILE_NAME)).to_be_visible()
    assert page.locator("main img, main b").count() == 0 and page.evaluate("window.pwned") is None


def test_the_list_links_to_each_workflow(page: Page, client: httpx.Client) -> None:
    workflow_id = create_workflow(client, [{"noop": {}}], name="listed workflow", prefix="/v2")
    page.goto(f"{client.base_url}/ui/")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Workflows").click()
    expect(page).to_have_url(re.compile(r"/ui/workflows$"))
    expect(page.get_by_role("link", name="Workflows")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="listed workflow").first.click()
    expect(page).to_have_url(re.compile(f"/ui/workflows/{workflow_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("listed workflow")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # read first after a navigation


def test_a_run_started_from_the_page_is_followed_to_its_end_without_reloading(page: Page, client: httpx.Client) -> None:
    stages = [{"noop": {}}, {"wait_event": {"event": "go"}}, {"noop": {}}]
    workflow_id = create_workflow(client, stages, name="run from the console", prefix="/v2")
    page.goto(f"{client.base_url}/ui/workflows/{workflow_id}")
    page.evaluate("window.sameDocument = true")  # gone if the page were loaded again
    page.get_by_role("button", name="Run workflow").click()

    expect(page).to_have_url(re.compile(r"/ui/instances/[0-9a-f-]{36}$"))
    instance_id = page.url.rsplit("/", 1)[1]
    status = page.locator(".status-line")
    expect(status).to_contain_text("Running")
    expect(page.locator("#stage-1 .badge")).to_have_text("Waiting for event")
    expect(page.get_by_label("Event name")).to_have_value("go")  # the awaited name, filled in
    page.get_by_role("button", name="Send event").click()

    expect(status).to_contain_text("Succeeded")
    expect(status).to_contain_text("Final state")
    assert page.evaluate("window.sameDocument") is True
    # The page says what the API says.
    instance = get_instance(client, instance_id)
    assert instance["terminated"] and "error" not in instance and instance["workflowID"] == workflow_id
    expect(page.locator("h1 .instance-id")).to_have_text(instance["id"])
    expect(page.locator(".stage")).to_have_count(len(stages))
    expect(page.locator(".stage .badge")).to_have_text(["Done"] * len(instance["status"]))
    expect(page.locator(".facts").first).to_contain_text(f"{len(instance['status'])} of {len(stages)} started")
    expect(page.get_by_text("This instance has ended")).to_be_visible()


def eval_json(page: Page, selector: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(page.locator(selector).input_value())
    return value
