"""The console by keyboard and by name: a skip link, landmarks, a name for every control, and
a confirmation that Escape dismisses."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.integration.helpers import create_workflow, run

CONTROL = re.compile(r"^\s*- (textbox|combobox|radio|checkbox|button|link)\b(?! \")", re.MULTILINE)
"""A control in an ARIA snapshot without a quoted name after its role."""


def assert_every_control_is_named(page: Page) -> None:
    tree = page.locator("body").aria_snapshot()
    assert not CONTROL.findall(tree), tree


def test_pages_have_landmarks_a_skip_link_and_named_controls(page: Page, client: httpx.Client) -> None:
    workflow_id = create_workflow(client, [{"wait_event": {"event": "later"}}], name="keyboard", prefix="/v2")
    instance_id = run(client, workflow_id)["id"]
    trigger = client.post("/v2/triggers", json={"workflowID": workflow_id, "event": "KEYBOARD", "vars": {"a": "1"}})
    pages = {
        f"/ui/workflows/{workflow_id}": "keyboard",
        f"/ui/instances/{instance_id}": f"Instance {instance_id}",
        f"/ui/triggers/{trigger.json()['data']['id']}": "Unnamed trigger",
        "/ui/instances": "Instances",
        "/ui/triggers": "Triggers",
    }
    for path, heading in pages.items():
        page.goto(f"{client.base_url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        for landmark in (page.get_by_role("banner"), page.get_by_role("navigation", name="Sections"),
                         page.get_by_role("main")):  # fmt: skip
            expect(landmark).to_be_visible()
        assert_every_control_is_named(page)

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


def test_the_abort_confirmation_works_by_keyboard(page: Page, client: httpx.Client) -> None:
    instance_id = run(client, create_workflow(client, [{"wait_event": {"event": "later"}}], prefix="/v2"))["id"]
    page.goto(f"{client.base_url}/ui/instances/{instance_id}")
    abort = page.get_by_role("button", name="Abort…")
    abort.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Abort this instance?")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Not aborted.")).to_be_visible()

    abort.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # from "Keep it running" to "Abort instance"
    expect(dialog.get_by_role("button", name="Abort instance")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".status-line")).to_contain_text("Aborted")
