"""SIGKILL the server in the middle of a trigger dispatch, and while events wait in the outbox,
then restart it: every bus message fires its triggers exactly once, and every event of the
instances reaches the bus (spec §11, §13; DESIGN §3, §4), on both databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext

from tests.integration.helpers import create_workflow, occurrences, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.nats import NatsServer, stream_exists, stream_messages
from tests.testing.server import ServerProcess
from tests.testing.waiting import assert_eventually


@pytest.fixture
def js(jetstream: JetStreamContext) -> JetStreamContext:
    return jetstream


@pytest.fixture
def server(
    database_uri: str | None, tmp_path: Path, nats_server: NatsServer, fake_stack: FakeStack
) -> Iterator[ServerProcess]:
    """Not started; a message taken by a server that died comes again after one second."""
    server = ServerProcess(
        data_dir=tmp_path / "data",
        postgres_uri=database_uri,
        extra_args=[
            *fake_stack.server_args(),
            *nats_server.server_args("kill-payments", publish_to="kill-orchestration"),
            "--publisher-nats-ack-wait", "1",
        ],
    )
    yield server
    server.stop()


async def stream_events(js: JetStreamContext, subject: str) -> list[dict[str, Any]]:
    return [json.loads(message.data) for message in await stream_messages(js, subject)]


async def test_a_dispatch_killed_before_it_is_recorded_runs_once_after_the_restart(
    server: ServerProcess, js: JetStreamContext, fake_stack: FakeStack
) -> None:
    server.start()
    client = server.client()
    account = f"/api/payments/accounts/{uuid.uuid4()}"
    fake_stack.add_resource(account, {"name": "foo"})
    workflow_id = create_workflow(client, [{"noop": {}}])
    trigger = client.post("/v2/triggers", json={
        "workflowID": workflow_id, "event": "SAVED_PAYMENT", "vars": {"name": 'link(event, "account").name'},
    }).json()["data"]["id"]
    await assert_eventually(lambda: stream_exists(js, "kill-payments"), what="the consumer's stream")
    held = fake_stack.hold("GET", account)
    payment = {"id": str(uuid.uuid4()), "links": [{"name": "account", "uri": fake_stack.url + account}]}
    await js.publish("kill-payments", json.dumps({
        "date": datetime.now(UTC).isoformat(), "app": "payments", "version": "v3", "type": "SAVED_PAYMENT",
        "payload": payment,
    }).encode())
    assert held.wait_arrived(timeout=30), "the dispatch never followed the link"
    server.kill()  # in the middle of evaluating the variables: nothing recorded, nothing acknowledged
    held.release()
    server.start()
    [occurrence] = await assert_eventually(
        lambda: occurrences(client, trigger), timeout=30, what="the occurrence of the redelivered message"
    )
    assert "error" not in wait_terminated(client, occurrence["workflowInstanceID"])
    # The marker technique: a later message fires, and still one occurrence for the first.
    marker = client.post("/v2/triggers", json={"workflowID": workflow_id, "event": "MARKER"}).json()["data"]["id"]
    await js.publish("kill-payments", json.dumps({
        "date": datetime.now(UTC).isoformat(), "app": "payments", "type": "MARKER", "payload": {},
    }).encode())
    await assert_eventually(lambda: occurrences(client, marker), timeout=30, what="the marker")
    assert len(occurrences(client, trigger)) == 1
    assert len(client.get("/instances", params={"workflowID": workflow_id}).json()["data"]) == 2


async def test_events_recorded_while_the_bus_was_down_are_published_after_a_kill(
    server: ServerProcess, js: JetStreamContext, nats_server: NatsServer
) -> None:
    server.start()
    client = server.client()
    nats_server.kill()
    workflow_id = create_workflow(client, [{"noop": {}}, {"noop": {}}])
    instances = [client.post(f"/v2/workflows/{workflow_id}/instances").json()["data"]["id"] for _ in range(3)]
    for instance in instances:
        assert "error" not in wait_terminated(client, instance)  # the bus being down blocks nothing
    server.kill()
    nats_server.restart()
    server.start()
    events = await assert_eventually(
        lambda: stream_events(js, "kill-orchestration"),
        lambda es: sum(e["type"] == "SUCCEEDED_WORKFLOW" for e in es) == 3,
        timeout=30, what="the events of the three instances",
    )
    for instance in instances:
        mine = [(e["type"], e["payload"].get("number")) for e in events if e["payload"]["instanceID"] == instance]
        assert mine == [
            ("STARTED_WORKFLOW", None),
            ("STARTED_WORKFLOW_STAGE", 0), ("SUCCEEDED_WORKFLOW_STAGE", 0),
            ("STARTED_WORKFLOW_STAGE", 1), ("SUCCEEDED_WORKFLOW_STAGE", 1),
            ("SUCCEEDED_WORKFLOW", None),
        ]


async def test_a_kill_after_the_dispatch_was_recorded_moves_the_money_once(
    server: ServerProcess, js: JetStreamContext, fake_stack: FakeStack
) -> None:
    server.start()
    client = server.client()
    ledger = f"l-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    workflow_id = create_workflow(client, [{"send": {
        "source": {"account": {"id": "world", "ledger": ledger}},
        "destination": {"account": {"id": "${account}", "ledger": ledger}},
        "amount": {"amount": "${amount}", "asset": "USD/2"},
    }}])
    trigger = client.post("/v2/triggers", json={
        "workflowID": workflow_id, "event": "SAVED_PAYMENT",
        "vars": {"account": '"users:" + event.id', "amount": "event.amount"},
    }).json()["data"]["id"]
    await assert_eventually(lambda: stream_exists(js, "kill-payments"), what="the consumer's stream")
    held = fake_stack.hold("POST", f"/api/ledger/v2/{ledger}/transactions")
    payment_id = uuid.uuid4().hex  # a ledger address segment: no dashes
    await js.publish("kill-payments", json.dumps({
        "date": datetime.now(UTC).isoformat(), "app": "payments", "type": "SAVED_PAYMENT",
        "payload": {"id": payment_id, "amount": 1000000},
    }).encode())
    assert held.wait_arrived(timeout=30), "the instance never posted"
    server.kill()  # the occurrence and the instance are recorded; the Ledger posted, we did not see it
    held.release()
    server.start()
    [occurrence] = await assert_eventually(lambda: occurrences(client, trigger), timeout=30, what="the occurrence")
    ended = wait_terminated(client, occurrence["workflowInstanceID"], timeout=30)
    assert "error" not in ended, ended["error"]
    postings = [t["postings"] for t in fake_stack.transactions(ledger)]
    assert postings == [[{"source": "world", "destination": f"users:{payment_id}", "amount": 1000000,
                          "asset": "USD/2"}]]
    assert len(client.get("/instances", params={"workflowID": workflow_id}).json()["data"]) == 1
