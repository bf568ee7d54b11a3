"""Triggers fired from NATS JetStream, and this service's events published there (spec §11,
§13, §17.6), with a real nats-server, the fake gateway and a real server, on both databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import nats
import pytest
from nats.js import JetStreamContext

from orchestration.bus._topics import durable_name
from tests.integration.helpers import create_workflow, occurrences, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.nats import NatsServer, stream_exists, stream_messages
from tests.testing.prometheus import scrape
from tests.testing.server import ServerProcess, eventually
from tests.testing.waiting import assert_eventually

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared/reference/events/generated/orchestration/v2.0.0"


@pytest.fixture
def topics() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"ledger": f"s{tag}-ledger", "payments": f"s{tag}-payments", "orchestration": f"s{tag}-orchestration"}


@pytest.fixture
def bus_server(
    database_uri: str | None, tmp_path: Path, nats_server: NatsServer, fake_stack: FakeStack, topics: dict[str, str]
) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path / "data",
        postgres_uri=database_uri,
        extra_args=[
            *fake_stack.server_args(),
            *nats_server.server_args(topics["ledger"], topics["payments"], publish_to=topics["orchestration"]),
        ],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(bus_server: ServerProcess) -> httpx.Client:
    return bus_server.client()


@pytest.fixture
def js(jetstream: JetStreamContext) -> JetStreamContext:
    return jetstream


def envelope(event_type: str, payload: Any, app: str = "payments", **extra: Any) -> bytes:
    body = {"date": datetime.now(UTC).isoformat(), "app": app, "version": "v2", "type": event_type,
            "payload": payload, **extra}
    return json.dumps(body).encode()


async def publish(js: JetStreamContext, subject: str, data: bytes) -> None:
    """As a Formance service publishes (the stream is the one the server provisioned), trying
    again while the bus comes back from a restart."""

    async def published() -> bool:
        try:
            if not await stream_exists(js, subject):
                return False
            await js.publish(subject, data)
        except (
            nats.errors.TimeoutError,
            nats.errors.NoRespondersError,
            nats.js.errors.NoStreamResponseError,  # what JetStream's publish makes of "no responders"
            nats.errors.ConnectionClosedError,
        ):
            return False
        return True

    await assert_eventually(published, timeout=30, interval=0.1, what=f"a message published on {subject}")


async def all_acknowledged(js: JetStreamContext, topic: str) -> None:
    """Wait until the server's consumer of `topic` has acknowledged every message published on
    it: each one's dispatch is then recorded (a message is acknowledged after that)."""
    stream = await js.find_stream_name_by_subject(topic)
    await assert_eventually(
        lambda: js.consumer_info(stream, durable_name("orchestration", topic)),
        lambda info: info.num_pending == 0 and info.num_ack_pending == 0,
        what=f"every message on {topic} acknowledged",
    )


def new_trigger(client: httpx.Client, stages: list[Any], **body: Any) -> str:
    workflow_id = create_workflow(client, stages)
    res = client.post("/v2/triggers", json={"workflowID": workflow_id, **body})
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])


async def published(js: JetStreamContext, subject: str, until: Any, *, what: str) -> list[dict[str, Any]]:
    """The events on `subject` (each checked against its JSON schema) once `until(events)` holds."""

    async def read() -> list[dict[str, Any]]:
        events = []
        for message in await stream_messages(js, subject):
            event = json.loads(message.data)
            schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
            jsonschema.validate(event, schema)
            assert message.headers and message.headers.get("Nats-Msg-Id") == event["idempotency_key"]
            events.append(event)
        return events

    return await assert_eventually(read, until, what=what)


async def test_a_payment_event_runs_the_payout_and_every_change_is_published(
    client: httpx.Client, js: JetStreamContext, fake_stack: FakeStack, topics: dict[str, str]
) -> None:
    # §17.6 #57: variables from the payload and from a linked resource (read with the gateway's token).
    ledger = f"l-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    account_path = f"/api/payments/accounts/{uuid.uuid4()}"
    fake_stack.add_resource(account_path, {"name": "foo"})
    send = {"send": {"source": {"account": {"id": "world", "ledger": ledger}},
                     "destination": {"account": {"id": "${account}", "ledger": ledger}},
                     "amount": {"amount": "${amount}", "asset": "${asset}"}}}
    trigger_id = new_trigger(
        client, [send], event="SAVED_PAYMENT",
        vars={"account": 'link(event, "destination_account").name', "amount": "event.amount", "asset": "event.asset"},
    )
    payment = {"amount": 1000000, "asset": "USD/2", "id": str(uuid.uuid4()),
               "links": [{"name": "destination_account", "uri": fake_stack.url + account_path}]}
    await publish(js, topics["payments"], envelope("SAVED_PAYMENT", payment))

    [occurrence] = await assert_eventually(lambda: occurrences(client, trigger_id), what="the occurrence")
    instance = wait_terminated(client, occurrence["workflowInstanceID"])
    assert "error" not in instance
    postings = [t["postings"] for t in fake_stack.transactions(ledger)]
    assert postings == [[{"source": "world", "destination": "foo", "amount": 1000000, "asset": "USD/2"}]]
    [link_call] = fake_stack.requests("GET", account_path)
    assert link_call.headers["authorization"].startswith("Bearer ")

    instance_id, workflow_id = instance["id"], instance["workflowID"]
    events = await published(
        js, topics["orchestration"], lambda es: any(e["type"] == "SUCCEEDED_WORKFLOW" for e in es),
        what="the instance's events",
    )
    assert [(e["type"], e["payload"]) for e in events] == [
        ("STARTED_WORKFLOW", {"id": workflow_id, "instanceID": instance_id}),
        ("SUCCEEDED_TRIGGER", {"id": occurrence["id"], "triggerID": trigger_id, "workflowInstanceID": instance_id}),
        ("STARTED_WORKFLOW_STAGE", {"id": workflow_id, "instanceID": instance_id, "number": 0}),
        ("SUCCEEDED_WORKFLOW_STAGE", {"id": workflow_id, "instanceID": instance_id, "number": 0}),
        ("SUCCEEDED_WORKFLOW", {"id": workflow_id, "instanceID": instance_id}),
    ]
    assert len({e["idempotency_key"] for e in events}) == len(events)
    assert all(e["app"] == "orchestration" and e["version"] == "v2" for e in events)


async def test_a_failing_variable_publishes_failed_trigger(
    client: httpx.Client, js: JetStreamContext, topics: dict[str, str]
) -> None:
    # §17.6 #58
    trigger_id = new_trigger(client, [{"delay": {"duration": "5s"}}], event="SAVED_PAYMENT",
                             vars={"fail": 'link(event, "unknown").name'})
    await publish(js, topics["payments"], envelope("SAVED_PAYMENT", {"id": str(uuid.uuid4())}))
    [occurrence] = await assert_eventually(lambda: occurrences(client, trigger_id), what="the failed occurrence")
    assert occurrence["error"] and "workflowInstanceID" not in occurrence
    events = await published(js, topics["orchestration"], lambda es: len(es) >= 1, what="FAILED_TRIGGER")
    assert events[0]["type"] == "FAILED_TRIGGER"
    assert events[0]["payload"] == {"id": occurrence["id"], "triggerID": trigger_id, "error": occurrence["error"]}


async def test_filters_dedup_and_malformed_messages(
    client: httpx.Client, js: JetStreamContext, topics: dict[str, str], bus_server: ServerProcess
) -> None:
    # §17.6 #59, #60, and messages that are no events (logged, acknowledged, never blocking).
    default = new_trigger(client, [{"noop": {}}], event="COMMITTED_TRANSACTIONS", filter='event.ledger == "default"')
    other = new_trigger(client, [{"noop": {}}], event="COMMITTED_TRANSACTIONS", filter='event.ledger == "other"')
    payments = new_trigger(client, [{"noop": {}}], event="SAVED_PAYMENT")
    failing = new_trigger(client, [{"noop": {}}], event="COMMITTED_TRANSACTIONS", filter='event.ledger + 1 == 2')
    for garbage in (b"not json", b"[]", b'{"type": "COMMITTED_TRANSACTIONS", "date": "yesterday"}'):
        await publish(js, topics["ledger"], garbage)
    committed = envelope("COMMITTED_TRANSACTIONS", {"ledger": "default", "transactions": []}, app="ledger")
    await publish(js, topics["ledger"], committed)
    await publish(js, topics["ledger"], committed)  # the same message again: one occurrence
    with_key = envelope("COMMITTED_TRANSACTIONS", {"ledger": "default", "transactions": []}, app="ledger",
                        idempotency_key="tx-42")
    await publish(js, topics["ledger"], with_key)
    await publish(js, topics["ledger"], with_key.replace(b'"transactions"', b'"transactions" '))  # same key
    payment_id = str(uuid.uuid4())
    for status in ("PENDING", "SUCCEEDED"):
        await publish(js, topics["payments"], envelope("SAVED_PAYMENT", {"id": payment_id, "status": status}))
    for topic in (topics["ledger"], topics["payments"]):
        await all_acknowledged(js, topic)
    assert len(occurrences(client, default)) == 2
    assert occurrences(client, other) == []
    assert len(occurrences(client, payments)) == 1
    assert occurrences(client, failing) == []  # a filter that fails matches nothing

    # The metrics say the same: 7 + 2 messages taken and acknowledged, none twice; 3 instances started,
    # 3 matches already fired (the same message, the same key, the same payment); each instance's 5 events.
    counted = eventually(
        lambda: scrape(bus_server.url),
        lambda s: s.total("orchestration_events_published_total") == 15
        and s.value("orchestration_bus_messages_acked_total", topic=topics["payments"]) == 2,
        what="the metrics of the dispatch",
    )
    for topic, messages in ((topics["ledger"], 7), (topics["payments"], 2)):
        assert counted.value("orchestration_bus_messages_consumed_total", topic=topic) == messages
        assert counted.value("orchestration_bus_messages_acked_total", topic=topic) == messages
    assert counted.total("orchestration_bus_messages_redelivered_total") == 0
    assert counted.value("orchestration_trigger_occurrences_total", outcome="started") == 3
    assert counted.value("orchestration_trigger_occurrences_total", outcome="duplicate") == 3
    assert counted.value("orchestration_trigger_occurrences_total", outcome="failed") == 0
    assert counted.value("orchestration_trigger_filter_errors_total") == 4  # each of the 4 ledger events
    assert counted.value("orchestration_events_published_total", type="SUCCEEDED_TRIGGER") == 3


async def test_the_bus_restarting_loses_nothing(
    client: httpx.Client, js: JetStreamContext, nats_server: NatsServer, topics: dict[str, str]
) -> None:
    trigger_id = new_trigger(client, [{"noop": {}}], event="COMMITTED_TRANSACTIONS")
    for n in range(5):
        await publish(js, topics["ledger"], envelope("COMMITTED_TRANSACTIONS", {"n": n}, app="ledger"))
    nats_server.kill()
    nats_server.restart()
    for n in range(5, 10):
        await publish(js, topics["ledger"], envelope("COMMITTED_TRANSACTIONS", {"n": n}, app="ledger"))
    found = await assert_eventually(
        lambda: occurrences(client, trigger_id), lambda o: len(o) >= 10, timeout=60, what="all ten occurrences"
    )
    assert sorted(o["event"]["payload"]["n"] for o in found) == list(range(10))
    # Every instance's events reach the bus too, after the restart.
    await published(
        js, topics["orchestration"], lambda es: sum(e["type"] == "SUCCEEDED_WORKFLOW" for e in es) == 10,
        what="ten SUCCEEDED_WORKFLOW events",
    )


async def test_failures_and_aborts_are_published_with_their_errors(
    client: httpx.Client, js: JetStreamContext, fake_stack: FakeStack, topics: dict[str, str]
) -> None:
    ledger = f"l-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    waiting = create_workflow(client, [{"wait_event": {"event": "never"}}])
    misconfigured = create_workflow(client, [{"noop": {}}, {"wait_event": {}}])  # no event: fails at start
    broke = create_workflow(client, [{"send": {"source": {"account": {"id": "empty", "ledger": ledger}},
                                               "destination": {"account": {"id": "bank", "ledger": ledger}},
                                               "amount": {"amount": 100, "asset": "USD/2"}}}])
    aborted = client.post(f"/v2/workflows/{waiting}/instances").json()["data"]["id"]
    await assert_eventually(lambda: client.get(f"/v2/instances/{aborted}").json()["data"].get("status"),
                            what="the stage to start")
    assert client.put(f"/v2/instances/{aborted}/abort").status_code == 204
    failed_config = client.post(f"/v2/workflows/{misconfigured}/instances").json()["data"]["id"]
    failed_send = client.post(f"/v2/workflows/{broke}/instances").json()["data"]["id"]
    errors = {i: wait_terminated(client, i)["error"] for i in (aborted, failed_config, failed_send)}
    assert errors[aborted] == "canceled"

    events = await published(
        js, topics["orchestration"], lambda es: sum(e["type"] == "FAILED_WORKFLOW" for e in es) == 3,
        what="three FAILED_WORKFLOW events",
    )

    def of(instance: str) -> list[tuple[str, Any, Any]]:
        mine = [e for e in events if e["payload"]["instanceID"] == instance]
        return [(e["type"], e["payload"].get("number"), e["payload"].get("error")) for e in mine]

    assert of(aborted) == [
        ("STARTED_WORKFLOW", None, None), ("STARTED_WORKFLOW_STAGE", 0, None),
        ("FAILED_WORKFLOW_STAGE", 0, "canceled"), ("FAILED_WORKFLOW", None, "canceled"),
    ]
    assert of(failed_config) == [
        ("STARTED_WORKFLOW", None, None), ("STARTED_WORKFLOW_STAGE", 0, None), ("SUCCEEDED_WORKFLOW_STAGE", 0, None),
        ("STARTED_WORKFLOW_STAGE", 1, None), ("FAILED_WORKFLOW_STAGE", 1, errors[failed_config]),
        ("FAILED_WORKFLOW", None, errors[failed_config]),
    ]
    assert of(failed_send) == [
        ("STARTED_WORKFLOW", None, None), ("STARTED_WORKFLOW_STAGE", 0, None),
        ("FAILED_WORKFLOW_STAGE", 0, errors[failed_send]), ("FAILED_WORKFLOW", None, errors[failed_send]),
    ]
