"""`orchestration triggers …` against a real server; occurrences come from signed webhook deliveries."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.client.conftest import Cli, create_workflow, data, every_item
from tests.integration.test_webhooks import deliver, envelope
from tests.testing.server import ServerProcess


def _trigger(cli: Cli, api: httpx.Client, *options: str) -> dict[str, object]:
    workflow_id = create_workflow(api, [{"noop": {}}])
    event = f"TEST_{uuid.uuid4().hex}"
    created: dict[str, object] = cli.json("triggers", "create", event, workflow_id, *options)
    return created


def test_create_sends_every_option_and_show_prints_the_trigger(cli: Cli, api: httpx.Client) -> None:
    name = f"big payments {uuid.uuid4().hex[:6]}"
    created = _trigger(
        cli, api, "--name", name, "--filter", "event.amount > 1000", "--var", "amount=string(event.amount)",
        "--var", "who=event.user", "--version", "v2",
    )  # fmt: skip
    assert created["name"] == name and created["filter"] == "event.amount > 1000" and created["version"] == "v2"
    assert created["vars"] == {"amount": "string(event.amount)", "who": "event.user"}
    shown = cli.json("triggers", "show", str(created["id"]))
    assert shown == data(api, f"/triggers/{created['id']}")
    table = cli.ok("triggers", "show", str(created["id"])).stdout
    assert "event.amount > 1000" in table and "${amount}  string(event.amount)" in table


def test_a_filter_that_does_not_compile_is_the_servers_message(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"noop": {}}])
    result = cli("triggers", "create", "SAVED_PAYMENT", workflow_id, "--filter", "event.amount >")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: validating data: error compiling expression 'event.amount >'")
    assert result.stderr.rstrip().endswith("(400 VALIDATION)")


def test_list_by_name_and_across_pages(cli: Cli, api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    made = [_trigger(cli, api, "--name", f"{tag}-{n}")["id"] for n in range(3)]
    listed = cli.json("triggers", "list", "--name", tag, "--all", "--page-size", "2")
    assert [t["id"] for t in listed] == made
    assert listed == every_item(api, "/triggers", name=tag)
    assert cli.json("triggers", "list", "--all") == every_item(api, "/triggers")


def test_test_evaluates_a_payload_from_standard_input(cli: Cli, api: httpx.Client) -> None:
    trigger = _trigger(cli, api, "--filter", 'event.status == "SUCCEEDED"', "--var", "amount=event.amount")
    payload = json.dumps({"status": "SUCCEEDED", "amount": "100"})
    result = cli.json("triggers", "test", str(trigger["id"]), "-", input=payload)
    assert result == {"filter": {"match": True}, "variables": {"amount": {"value": "100"}}}
    table = cli.ok("triggers", "test", str(trigger["id"]), "-", input="status: FAILED\n").stdout
    assert "no match: the trigger does not fire" in table


def test_occurrences_list_what_fired(cli: Cli, api: httpx.Client, server: ServerProcess) -> None:
    trigger = _trigger(cli, api, "--var", "who=event.user")
    assert "No occurrences" in cli.ok("triggers", "occurrences", str(trigger["id"])).stdout
    with server.client() as root:
        res = deliver(root, envelope(str(trigger["event"]), {"user": "alice"}))
    assert res.status_code == 200, res.text
    [occurrence] = cli.json("triggers", "occurrences", str(trigger["id"]))
    assert [occurrence] == every_item(api, f"/triggers/{trigger['id']}/occurrences")
    table = cli.ok("triggers", "occurrences", str(trigger["id"])).stdout
    [line] = [line.split() for line in table.splitlines() if occurrence["id"] in line]
    assert trigger["event"] in line and occurrence["workflowInstanceID"] in line and "succeeded" in line


def test_delete_and_then_it_is_not_found(cli: Cli, api: httpx.Client) -> None:
    trigger = _trigger(cli, api)
    assert cli.ok("triggers", "delete", str(trigger["id"])).stdout == f"Trigger {trigger['id']} deleted.\n"
    result = cli("triggers", "show", str(trigger["id"]))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: trigger not found (404 NOT_FOUND)")
