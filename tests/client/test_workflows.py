"""`orchestration workflows …` against a real server: what each command prints is what the API holds."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import yaml

from tests.client.conftest import Cli, create_workflow, data, every_item

CONFIRM_THEN_PAUSE = """\
name: {name}
stages:
- wait_event:
    event: ${{event}}   # a run variable
- delay:
    duration: 10ms
"""


def test_create_from_a_yaml_file_prints_the_workflow_as_the_api_holds_it(
    cli: Cli, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"yaml-{uuid.uuid4().hex[:8]}"
    definition = tmp_path / "workflow.yaml"
    definition.write_text(CONFIRM_THEN_PAUSE.format(name=name))
    created = cli.json("workflows", "create", str(definition))
    assert created == data(api, f"/workflows/{created['id']}")
    stages = [{"wait_event": {"event": "${event}"}}, {"delay": {"duration": "10ms"}}]
    assert created["config"] == {"name": name, "stages": stages}


def test_yaml_reads_as_the_json_the_server_stores(cli: Cli) -> None:
    definition = """\
stages:
- send:
    source: {account: {id: world}}
    destination: {account: {id: bank}}
    amount: {amount: 123456789012345678901234567890, asset: USD/2}
    timestamp: 2024-05-02T10:11:12Z   # a date, unquoted: still the text
    metadata: {note: 'yes', count: "3"}
"""
    [stage] = cli.json("workflows", "create", "-", input=definition)["config"]["stages"]
    assert stage["send"]["timestamp"] == "2024-05-02T10:11:12Z"
    assert stage["send"]["amount"]["amount"] == 123456789012345678901234567890
    assert stage["send"]["metadata"] == {"note": "yes", "count": "3"}


def test_create_reads_json_from_standard_input(cli: Cli, api: httpx.Client) -> None:
    body = {"name": "from stdin", "stages": [{"noop": {}}]}
    result = cli.ok("workflows", "create", "-", input=json.dumps(body))
    [workflow_id] = [word for word in result.stdout.split() if len(word) == 36]
    assert data(api, f"/workflows/{workflow_id}")["config"] == body


def test_create_refuses_a_definition_with_problems_and_sends_nothing(cli: Cli, api: httpx.Client) -> None:
    name = f"bad-{uuid.uuid4().hex[:8]}"
    definition = {"name": name, "stages": [{"wait_event": {"evnt": "go"}}, {"delay": {}}]}
    result = cli("workflows", "create", "-", input=json.dumps(definition))
    assert result.exit_code == 1
    assert "stage 0 (wait_event), evnt: unknown key 'evnt' (did you mean 'event'?)" in result.stderr
    assert "stage 0 (wait_event), event: is required" in result.stderr
    assert "stage 1 (delay): needs one of `duration` or `until`" in result.stderr
    assert "3 problems" in result.stderr and "--no-validate" in result.stderr
    assert name not in {w["config"]["name"] for w in every_item(api, "/workflows")}


def test_no_validate_sends_it_as_it_is_and_shows_what_the_server_answers(cli: Cli, api: httpx.Client) -> None:
    accepted = cli.json("workflows", "create", "--no-validate", "-", input='{"stages": [{"wait_event": {}}]}')
    assert data(api, f"/workflows/{accepted['id']}")["config"]["stages"] == [{"wait_event": {}}]
    refused = cli("workflows", "create", "--no-validate", "-", input='{"stages": [{"sleep": {}}]}')
    assert refused.exit_code == 1
    assert refused.stderr == "Error: creating workflow: stage 0: unable to resolve schema sleep (400 VALIDATION)\n"


def test_list_pages_through_the_cursor(cli: Cli, api: httpx.Client) -> None:
    for number in range(5):
        create_workflow(api, [{"noop": {}}], name=f"paged {number}")
    everything = every_item(api, "/workflows")
    assert cli.json("workflows", "list", "--all", "--page-size", "2") == everything

    first = cli("workflows", "list", "--page-size", "2", "--output", "json")
    page = api.get("/workflows", params={"pageSize": 2}).json()["cursor"]
    assert json.loads(first.stdout) == page["data"]
    assert f"--cursor {page['next']}" in first.stderr
    second = cli.json("workflows", "list", "--cursor", page["next"])
    assert second == api.get("/workflows", params={"cursor": page["next"]}).json()["cursor"]["data"]


def test_list_shows_a_table_of_names_and_stage_types(cli: Cli, api: httpx.Client) -> None:
    name = f"table-{uuid.uuid4().hex[:8]}"
    workflow_id = create_workflow(api, [{"wait_event": {"event": "x"}}, {"delay": {"duration": "1s"}}], name=name)
    shown = cli.ok("workflows", "list", "--all").stdout
    [line] = [line for line in shown.splitlines() if workflow_id in line]
    assert name in line and "wait_event → delay" in line


def test_show_prints_the_workflow_and_its_definition_round_trips(cli: Cli, api: httpx.Client) -> None:
    stages = [{"send": {"source": {"account": {"id": "world"}}, "destination": {"account": {"id": "bank"}},
                        "amount": {"amount": 100, "asset": "USD/2"}}}]  # fmt: skip
    workflow_id = create_workflow(api, stages, name="round trip")
    assert cli.json("workflows", "show", workflow_id) == data(api, f"/workflows/{workflow_id}")
    assert yaml.safe_load(cli.ok("workflows", "show", workflow_id, "--output", "yaml").stdout)["id"] == workflow_id
    table = cli.ok("workflows", "show", workflow_id).stdout
    assert "round trip" in table and '"source":{"account":{"id":"world"}}' in table

    definition = cli.ok("workflows", "show", workflow_id, "--definition").stdout
    assert yaml.safe_load(definition) == {"name": "round trip", "stages": stages}
    again = cli.json("workflows", "create", "-", input=definition)
    assert again["config"] == {"name": "round trip", "stages": stages}


def test_delete_hides_the_workflow_from_the_list(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"noop": {}}])
    assert cli.ok("workflows", "delete", workflow_id).stdout == f"Workflow {workflow_id} deleted.\n"
    assert data(api, f"/workflows/{workflow_id}")["deletedAt"] is not None
    assert workflow_id not in {w["id"] for w in cli.json("workflows", "list", "--all")}
    assert cli.ok("workflows", "delete", workflow_id, "--output", "json").stdout == ""  # again, 204


def test_run_starts_an_instance_with_its_variables(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"wait_event": {"event": "${event}"}}])
    started = cli.json("workflows", "run", workflow_id, "--variable", "event=a=b")
    assert started["workflowID"] == workflow_id and not started["terminated"]
    assert data(api, f"/instances/{started['id']}")["id"] == started["id"]
    cli.ok("instances", "send-event", started["id"], "a=b")
    done = cli.json("instances", "show", started["id"], "--watch", "--interval", "0.02")
    assert done["terminated"] and "error" not in done
    assert data(api, f"/instances/{started['id']}/history")[0]["input"] == {"event": "a=b"}


def test_run_wait_follows_the_instance_until_it_ends(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"delay": {"duration": "200ms"}}, {"noop": {}}], name="short")
    ended = cli.json("workflows", "run", workflow_id, "--wait", "--interval", "0.02")
    assert ended["terminated"] and "error" not in ended
    assert ended == data(api, f"/instances/{ended['id']}")

    shown = cli.ok("workflows", "run", workflow_id, "--wait", "--interval", "0.02").stdout
    assert "succeeded" in shown and "short" in shown
    lines = shown.splitlines()
    assert any(line.split()[:3] == ["0", "delay", "succeeded"] for line in lines), shown
    assert any(line.split()[:3] == ["1", "noop", "succeeded"] for line in lines), shown


def test_run_wait_exits_1_when_the_instance_fails(cli: Cli, api: httpx.Client) -> None:
    # Valid offline (a variable could name the event), fails when it runs without one.
    workflow_id = create_workflow(api, [{"wait_event": {"event": "${event}"}}, {"noop": {}}])
    result = cli("workflows", "run", workflow_id, "--wait", "--interval", "0.02")
    assert result.exit_code == 1
    [instance] = every_item(api, "/instances", workflowID=workflow_id)
    error = data(api, f"/instances/{instance['id']}")["error"]
    assert result.stderr == f"Error: instance {instance['id']} failed: {error}\n"
    assert "failed" in result.stdout and "not run" in result.stdout


def test_variables_must_be_name_equals_value(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"noop": {}}])
    result = cli("workflows", "run", workflow_id, "--variable", "novalue")
    assert result.exit_code == 2 and "'novalue' is not NAME=VALUE" in result.stderr
    assert every_item(api, "/instances", workflowID=workflow_id) == []
