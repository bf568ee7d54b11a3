"""`orchestration instances …` against a real server and the fake Formance stack."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.client.conftest import Cli, create_workflow, data, every_item
from tests.testing.fake_stack import FakeStack
from tests.testing.oidc import OidcIssuer
from tests.testing.server import ServerProcess

WATCH = ("--watch", "--interval", "0.02")


def _run(api: httpx.Client, workflow_id: str, variables: dict[str, str] | None = None) -> str:
    res = api.post(f"/workflows/{workflow_id}/instances", json=variables)
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])


def _line(shown: str, stage: int) -> list[str]:
    """The words of the timeline's line of a stage."""
    [line] = [line.split() for line in shown.splitlines() if line.split()[:1] == [str(stage)]]
    return line


def _send(ledger: str, source: str, amount: int) -> dict[str, Any]:
    return {"send": {"source": {"account": {"id": source, "ledger": ledger}},
                     "destination": {"account": {"id": "bank", "ledger": ledger}},
                     "amount": {"amount": amount, "asset": "USD/2"}}}  # fmt: skip


def test_list_filters_by_workflow_and_running(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"wait_event": {"event": "go"}}])
    waiting, other = _run(api, workflow_id), _run(api, workflow_id)
    cli.ok("instances", "abort", other)
    cli.json("instances", "show", other, *WATCH)

    listed = cli.json("instances", "list", "--workflow", workflow_id)
    assert listed == every_item(api, "/instances", workflowID=workflow_id)
    assert {i["id"] for i in listed} == {waiting, other}
    running = cli.json("instances", "list", "--workflow", workflow_id, "--running", "--all", "--page-size", "1")
    assert [i["id"] for i in running] == [waiting]
    table = cli.ok("instances", "list", "--workflow", workflow_id).stdout
    assert {tuple(line.split()[:3]) for line in table.splitlines() if workflow_id in line} == {
        (waiting, workflow_id, "running"),
        (other, workflow_id, "canceled"),
    }


def test_show_draws_the_timeline_of_the_stages(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"noop": {}}, {"wait_event": {"event": "go"}}, {"delay": {"duration": "1ms"}}])
    instance_id = _run(api, workflow_id)
    shown = cli.ok("instances", "show", instance_id).stdout
    assert instance_id in shown and workflow_id in shown
    assert _line(shown, 1)[:2] == ["1", "wait_event"] and _line(shown, 1)[2] in ("pending", "running")
    assert _line(shown, 2) == ["2", "delay", "pending"]

    cli.ok("instances", "send-event", instance_id, "go")
    ended = cli.json("instances", "show", instance_id, *WATCH)
    assert ended["terminated"] and "error" not in ended
    assert ended == data(api, f"/instances/{instance_id}")
    shown = cli.ok("instances", "show", instance_id).stdout
    for stage, kind in enumerate(["noop", "wait_event", "delay"]):
        assert _line(shown, stage)[:3] == [str(stage), kind, "succeeded"]


def test_watch_on_a_terminal_redraws_the_timeline_until_the_instance_ends(
    server: ServerProcess, issuer: OidcIssuer, api: httpx.Client
) -> None:
    instance_id = _run(api, create_workflow(api, [{"wait_event": {"event": "go"}}, {"noop": {}}]))
    env = {**os.environ, "ORCHESTRATION_URL": server.url, "ORCHESTRATION_TOKEN": issuer.token(), "TTY_COMPATIBLE": "1"}
    command = [Path(sys.executable).parent / "orchestration", "instances", "show", instance_id, *WATCH]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as watch:
        assert watch.stdout is not None
        shown = b""
        while b"running" not in shown:  # the first drawing, while the instance waits for its event
            ready, _, _ = select.select([watch.stdout], [], [], 15)
            assert ready, f"nothing drawn: {shown!r}"
            shown += os.read(watch.stdout.fileno(), 65536)
        sent = api.post(f"/instances/{instance_id}/events", json={"name": "go"})
        assert sent.status_code == 204
        rest, errors = watch.communicate(timeout=30)
    assert watch.returncode == 0, errors
    final = (shown + rest).decode()
    assert "\x1b[" in final  # drawn in place, with the terminal's control sequences
    assert final.count("STAGE") > 1 and "succeeded" in final.split("STAGE")[-1]


def test_abort_ends_the_instance_canceled(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"wait_event": {"event": "never"}}, {"noop": {}}])
    instance_id = _run(api, workflow_id)
    assert cli.ok("instances", "abort", instance_id).stdout == f"Instance {instance_id} aborted.\n"
    ended = cli.json("instances", "show", instance_id, *WATCH)
    assert ended["error"] == "canceled"
    shown = cli.ok("instances", "show", instance_id).stdout
    assert _line(shown, 0)[:3] == ["0", "wait_event", "canceled"] and _line(shown, 1) == ["1", "noop", "not", "run"]


def test_histories_show_what_the_api_holds(cli: Cli, api: httpx.Client, fake_stack: FakeStack) -> None:
    ledger = f"l-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    workflow_id = create_workflow(api, [_send(ledger, "world", 100), {"delay": {"duration": "1ms"}}])
    instance_id = cli.json("workflows", "run", workflow_id, "--wait", "--interval", "0.02")["id"]

    history = cli.json("instances", "history", instance_id)
    assert history == data(api, f"/instances/{instance_id}/history")
    assert [stage["name"] for stage in history] == ["RunSend", "RunDelay"]
    calls = cli.json("instances", "stage-history", instance_id, "0")
    assert calls == data(api, f"/instances/{instance_id}/stages/0/history")
    assert [call["name"] for call in calls] == ["CreateTransaction"]

    table = cli.ok("instances", "stage-history", instance_id, "0").stdout
    assert table.splitlines()[-1].split()[:3] == ["CreateTransaction", "succeeded", "1"]
    assert "No calls" in cli.ok("instances", "stage-history", instance_id, "1").stdout
    assert "RunDelay" in cli.ok("instances", "history", instance_id).stdout


def test_a_call_being_retried_shows_its_attempts_and_last_failure(
    cli: Cli, api: httpx.Client, fake_stack: FakeStack
) -> None:
    ledger = f"l-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    transactions = f"/api/ledger/v2/{ledger}/transactions"
    fake_stack.fail_next("POST", transactions, message="ledger down for a moment")
    second = fake_stack.hold("POST", transactions)  # the retry waits here until released
    instance_id = _run(api, create_workflow(api, [_send(ledger, "world", 100)]))
    assert second.wait_arrived(timeout=15)

    shown = cli.ok("instances", "show", instance_id).stdout
    stage = _line(shown, 0)
    assert stage[:3] == ["0", "send", "retrying"] and "2" in stage
    assert "CreateTransaction failed: ledger down for a moment; next attempt at" in " ".join(stage)
    second.release()
    ended = cli.json("instances", "show", instance_id, *WATCH)
    assert ended["terminated"] and "error" not in ended
    assert _line(cli.ok("instances", "show", instance_id).stdout, 0)[:3] == ["0", "send", "succeeded"]


def test_an_unknown_instance_is_a_clear_404(cli: Cli) -> None:
    unknown = str(uuid.uuid4())
    for command in (["show", unknown], ["history", unknown], ["abort", unknown], ["send-event", unknown, "x"]):
        result = cli("instances", *command)
        assert result.exit_code == 1, command
        assert result.stderr.startswith("Error: Instance not found (404 NOT_FOUND)"), (command, result.stderr)
        assert "orchestration instances list" in result.stderr
