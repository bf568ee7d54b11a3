"""Triggers in the console: the list, a trigger's filter and variables, the test form (v2
test endpoint) giving what the API gives, and occurrences appearing as events arrive."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.integration.helpers import create_workflow
from tests.integration.test_webhooks import deliver, envelope


def new_trigger(client: httpx.Client, **body: object) -> dict[str, object]:
    workflow_id = create_workflow(client, [{"noop": {}}], prefix="/v2")
    res = client.post("/v2/triggers", json={"workflowID": workflow_id, "event": f"TEST_{uuid.uuid4().hex}", **body})
    assert res.status_code == 201, res.text
    trigger: dict[str, object] = res.json()["data"]
    return trigger


def test_the_trigger_page_tests_an_event_as_the_api_does(page: Page, client: httpx.Client) -> None:
    trigger = new_trigger(client, name="big payments", filter="event.amount > 100",
                          vars={"who": "event.user", "twice": "event.amount * 2"})  # fmt: skip
    page.goto(f"{client.base_url}/ui/triggers/{trigger['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("big payments")
    expect(page.locator(".expression")).to_have_text("event.amount > 100")
    variables = page.get_by_role("table", name="Variables given to the workflow, computed from the event")
    expect(variables.locator("tbody tr")).to_have_text(["whoevent.user", "twiceevent.amount * 2"])

    event = '{"amount": 500, "user": "<b>ann</b>"}'
    api = client.post(f"/v2/triggers/{trigger['id']}/test", content=event).json()["data"]
    assert api == {"filter": {"match": True}, "variables": {"who": {"value": "<b>ann</b>"}, "twice": {"value": "1000"}}}
    page.get_by_label("Event payload (JSON)").fill(event)
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator(".test-result .match")).to_contain_text("Matches")
    expect(page.locator(".var-value")).to_have_text(["<b>ann</b>", "1000"])

    page.get_by_label("Event payload (JSON)").fill('{"amount": 5}')
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.locator(".test-result .match")).to_contain_text("No match")
    expect(page.locator(".var-value")).to_have_count(0)

    page.get_by_label("Event payload (JSON)").fill("{not json")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.get_by_text("The event is not valid JSON")).to_be_visible()


def test_occurrences_appear_as_events_arrive(page: Page, client: httpx.Client) -> None:
    trigger = new_trigger(client, name=f"on payment {uuid.uuid4().hex[:6]}")
    page.goto(f"{client.base_url}/ui/triggers/{trigger['id']}")
    expect(page.get_by_text("This trigger has not fired yet.")).to_be_visible()

    res = deliver(client, envelope(str(trigger["event"]), {"amount": 1}))
    [instance_id] = res.json()["data"]["started"]
    occurrences = page.get_by_role("table", name="Times this trigger fired (first page)").locator("tbody tr")
    expect(occurrences).to_have_count(1)
    expect(occurrences.first).to_contain_text(str(trigger["event"]))
    occurrences.first.get_by_title(instance_id).click()
    expect(page).to_have_url(re.compile(f"/ui/instances/{instance_id}$"))


def test_the_list_searches_triggers_by_name(page: Page, client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    trigger = new_trigger(client, name=f"refunds {tag}")
    new_trigger(client, name="something else")
    page.goto(f"{client.base_url}/ui/triggers")
    page.get_by_label("Name contains").fill(tag)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(f"/ui/triggers\\?name={tag}$"))
    expect(page.locator("main tbody tr")).to_have_count(1)
    page.get_by_role("link", name=f"refunds {tag}").click()
    expect(page).to_have_url(re.compile(f"/ui/triggers/{trigger['id']}$"))
