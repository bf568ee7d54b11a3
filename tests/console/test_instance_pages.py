"""Instances in the console: an instance's page (abort with a confirmation, an activity's retry,
a failure), and the list with its filters, kept current without reloading."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import screenshot
from tests.integration.helpers import create_workflow, get_instance, run, wait_terminated
from tests.testing.fake_stack import FakeStack


@pytest.fixture
def ledger(fake_stack: FakeStack) -> Iterator[str]:
    name = f"console-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(name)
    yield name
    fake_stack.clear_faults()


def send(source: str, destination: str, ledger: str) -> dict[str, Any]:
    """A send stage of 100 USD/2 between two accounts of `ledger`."""
    return {
        "send": {
            "source": {"account": {"id": source, "ledger": ledger}},
            "destination": {"account": {"id": destination, "ledger": ledger}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }


def open_instance(page: Page, client: httpx.Client, instance_id: str) -> None:
    page.goto(f"{client.base_url}/ui/instances/{instance_id}")
    expect(page.locator("h1 .instance-id")).to_have_text(instance_id)


def test_abort_asks_for_a_confirmation_then_ends_a_waiting_instance(page: Page, client: httpx.Client) -> None:
    workflow_id = create_workflow(client, [{"wait_event": {"event": "never"}}], prefix="/v2")
    instance_id = run(client, workflow_id)["id"]
    open_instance(page, client, instance_id)
    expect(page.locator("#stage-0 .badge")).to_have_text("Waiting for event")

    page.get_by_role("button", name="Abort…").click()
    dialog = page.get_by_role("dialog", name="Abort this instance?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep it running")).to_be_focused()  # the safe choice first
    dialog.get_by_role("button", name="Keep it running").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Not aborted.")).to_be_visible()
    assert get_instance(client, instance_id)["terminated"] is False

    page.get_by_role("button", name="Abort…").click()
    dialog.get_by_role("button", name="Abort instance").click()
    expect(page.locator(".status-line")).to_contain_text("Aborted")
    instance = get_instance(client, instance_id)
    assert instance["terminated"] and instance["error"] == "canceled"
    expect(page.locator(".instance-error")).to_have_text(instance["error"])
    expect(page.locator("#stage-0 .badge")).to_have_text("Aborted")
    expect(page.get_by_role("button", name="Abort…")).to_have_count(0)


def test_an_activity_retry_shows_its_attempt_and_last_failure(
    page: Page, client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    transactions = f"/api/ledger/v2/{ledger}/transactions"
    fake_stack.fail_next("POST", transactions, times=1, status=503, message="ledger briefly unavailable")
    hold = fake_stack.hold("POST", transactions)  # the second attempt stays in flight until released
    try:
        workflow_id = create_workflow(client, [send("world", "bank", ledger)], name="pay the bank", prefix="/v2")
        instance_id = run(client, workflow_id)["id"]
        open_instance(page, client, instance_id)
        activity = page.get_by_role("table", name="Activities of stage 0").locator("tbody tr")
        expect(activity.locator(".attempt")).to_have_text("2")
        expect(activity.locator(".last-failure")).to_have_text("ledger briefly unavailable")
        expect(activity).to_contain_text("CreateTransaction")
        expect(page.locator("#stage-0 .badge").first).to_have_text("Retrying")
        screenshot(page, "instance-page")
        resolved = page.locator("#stage-0 details").filter(has_text="Resolved input")
        resolved.locator("summary").click()
    finally:
        hold.release()
    expect(page.locator(".status-line")).to_contain_text("Succeeded")
    expect(resolved).to_have_attribute("open", "")  # what the reader unfolded stays so through updates
    expect(activity.locator(".badge")).to_have_text("Done")
    expect(activity.locator(".last-failure")).to_have_count(0)  # shown only while pending


def test_a_failed_instance_shows_what_the_api_says(
    page: Page, client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    workflow_id = create_workflow(client, [{"noop": {}}, send("empty:account", "bank", ledger)], prefix="/v2")
    instance = wait_terminated(client, run(client, workflow_id)["id"])
    assert "insufficient funds" in instance["error"]
    open_instance(page, client, instance["id"])

    expect(page.locator(".status-line")).to_contain_text("Failed")
    expect(page.locator(".instance-error")).to_have_text(instance["error"])
    expect(page.locator(".stage")).to_have_count(len(instance["status"]))
    [failed] = [s for s in instance["status"] if "error" in s]
    expect(page.locator(f"#stage-{failed['stage']} .stage-error")).to_have_text(f"Error: {failed['error']}")
    expect(page.locator(f"#stage-{failed['stage']} .badge").first).to_have_text("Failed")
    expect(page.get_by_role("link", name="Unnamed workflow")).to_have_attribute("href", f"/ui/workflows/{workflow_id}")


def test_the_list_filters_by_workflow_and_status_and_follows_changes(page: Page, client: httpx.Client) -> None:
    waiting = create_workflow(client, [{"wait_event": {"event": "go"}}], name=f"waits {uuid.uuid4().hex[:6]}",
                              prefix="/v2")  # fmt: skip
    running_id, done_id = run(client, waiting)["id"], run(client, waiting)["id"]
    assert client.put(f"/v2/instances/{done_id}/abort").status_code == 204
    wait_terminated(client, done_id)
    page.goto(f"{client.base_url}/ui/instances")
    page.get_by_label("Workflow").select_option(waiting)
    page.get_by_label("Running").check()
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(f"/ui/instances\\?workflow={waiting}&state=running$"))
    rows = page.locator("#instances-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=running_id)).to_be_visible()

    page.get_by_label("Terminated").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=done_id)).to_be_visible()

    page.get_by_label("All").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(2)
    running_row = rows.filter(has=page.get_by_role("link", name=running_id))
    expect(running_row.locator(".badge")).to_have_text("Running")
    assert client.put(f"/v2/instances/{running_id}/abort").status_code == 204
    expect(running_row.locator(".badge")).to_have_text("Aborted")  # live, no reload
