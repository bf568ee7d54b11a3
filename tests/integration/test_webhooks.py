"""Signed Formance webhooks in (`POST /v2/webhooks`): signature, replay, and dispatch to
triggers exactly as a bus message (spec §11.4–§11.6, FLOWS-2026 §23), on both databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import WEBHOOK_SECRETS
from tests.integration.helpers import assert_error, create_workflow, occurrences, wait_terminated
from tests.testing.link_server import LinkServer
from tests.testing.server import ServerProcess


@pytest.fixture
def client(api_server: ServerProcess) -> httpx.Client:
    return api_server.client()


def envelope(event_type: str, payload: Any, **extra: Any) -> dict[str, Any]:
    return {"date": datetime.now(UTC).isoformat(), "app": "payments", "version": "v3", "type": event_type,
            "payload": payload, **extra}


def signed_headers(body: bytes, *, secret: str = WEBHOOK_SECRETS[0], webhook_id: str | None = None,
                   timestamp: int | None = None) -> dict[str, str]:
    """What the Formance Webhooks service sends: an HMAC-SHA256 of `id.timestamp.body`, base64."""
    webhook_id = webhook_id or str(uuid.uuid4())
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "formance-webhook-id": webhook_id,
        "formance-webhook-timestamp": str(timestamp),
        "formance-webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def deliver(client: httpx.Client, event: dict[str, Any], **signing: Any) -> httpx.Response:
    body = json.dumps(event).encode()
    return client.post("/v2/webhooks", content=body, headers=signed_headers(body, **signing))


def new_trigger(client: httpx.Client, stages: list[Any], **body: Any) -> tuple[str, str]:
    """A workflow and a trigger on it; the trigger's event type is unique to the test unless given."""
    workflow_id = create_workflow(client, stages)
    body.setdefault("event", f"TEST_{uuid.uuid4().hex}")
    res = client.post("/v2/triggers", json={"workflowID": workflow_id, **body})
    assert res.status_code == 201, res.text
    return res.json()["data"]["id"], body["event"]


def test_a_signed_webhook_starts_the_workflow_with_the_variables(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(
        client, [{"noop": {}}], filter="event.amount > 100", vars={"amount": "event.amount", "asset": "event.asset"}
    )
    event = envelope(event_type, {"amount": 1000000, "asset": "USD/2"}, idempotency_key="k1", ledger="dropped")
    res = deliver(client, event)
    assert res.status_code == 200, res.text
    started = res.json()["data"]["started"]
    assert len(started) == 1 and res.json()["data"]["failed"] == []
    instance = wait_terminated(client, started[0])
    assert "error" not in instance and instance["workflowID"]
    [occurrence] = occurrences(client, trigger_id)
    assert occurrence["workflowInstanceID"] == started[0]
    assert occurrence["workflowInstance"]["id"] == started[0]
    assert "status" not in occurrence["workflowInstance"] and "error" not in occurrence
    assert "workflow" not in occurrence["workflowInstance"]  # FLOWS-2026 §24: only reads of instances embed it
    # the six envelope keys, nothing else.
    assert occurrence["event"] == {k: v for k, v in event.items() if k != "ledger"}
    # The variables reached the instance: exact integers, not 1e+06.
    assert client.get(f"/instances/{started[0]}/history").status_code == 200


def test_a_replayed_delivery_starts_nothing_again(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    event = envelope(event_type, {"id": "p1"})
    body = json.dumps(event).encode()
    headers = signed_headers(body)
    first = client.post("/v2/webhooks", content=body, headers=headers)
    again = client.post("/v2/webhooks", content=body, headers=headers)
    assert len(first.json()["data"]["started"]) == 1
    assert again.status_code == 200 and again.json()["data"] == {"started": [], "failed": [], "duplicates": 1}
    assert len(occurrences(client, trigger_id)) == 1


def test_an_event_with_an_idempotency_key_fires_once_whatever_the_delivery(client: httpx.Client) -> None:
    # The same event from two webhook configurations (or from the bus too): one key, one firing.
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    event = envelope(event_type, {}, idempotency_key=f"evt-{uuid.uuid4()}")
    assert len(deliver(client, event).json()["data"]["started"]) == 1
    assert deliver(client, event).json()["data"] == {"started": [], "failed": [], "duplicates": 1}
    assert len(occurrences(client, trigger_id)) == 1


def test_a_non_ascii_webhook_id_verifies_as_sent(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    body = json.dumps(envelope(event_type, {})).encode()
    webhook_id = "msg-\u00e9t\u00e9".encode().decode("unicode_escape").encode("latin-1")
    timestamp = int(time.time())
    mac = hmac.new(WEBHOOK_SECRETS[0].encode(), webhook_id + f".{timestamp}.".encode() + body, hashlib.sha256)
    headers = [
        (b"content-type", b"application/json"),
        (b"formance-webhook-id", webhook_id),
        (b"formance-webhook-timestamp", str(timestamp).encode()),
        (b"formance-webhook-signature", b"v1," + base64.b64encode(mac.digest())),
    ]
    res = client.post("/v2/webhooks", content=body, headers=headers)
    assert res.status_code == 200, res.text
    assert len(occurrences(client, trigger_id)) == 1


def test_a_payload_the_database_could_not_hold_is_a_400_and_reads_keep_answering(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    for payload in (b"NaN", b"1e400", b'"\\ud800"', b'{"a": "\\u0000"}'):
        body = b'{"type": "' + event_type.encode() + b'", "date": "2026-12-01T10:00:00Z", "payload": ' + payload + b"}"
        res = client.post("/v2/webhooks", content=body, headers=signed_headers(body))
        assert_error(res, 400, "VALIDATION", "no Formance event")
    assert client.get(f"/v2/triggers/{trigger_id}/occurrences").status_code == 200
    assert occurrences(client, trigger_id) == []


def test_the_same_content_delivered_twice_fires_twice(client: httpx.Client) -> None:
    # §17.6 #60: no deduplication by content for ordinary event types.
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    event = envelope(event_type, {"ledger": "default", "transactions": []})
    assert deliver(client, event).status_code == 200
    assert deliver(client, event).status_code == 200
    assert len(occurrences(client, trigger_id)) == 2


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: h.pop("formance-webhook-signature"), id="unsigned"),
        pytest.param(lambda h: h.pop("formance-webhook-id"), id="no-id"),
        pytest.param(lambda h: h.update({"formance-webhook-signature": "v1,AAAA"}), id="bad-signature"),
        pytest.param(lambda h: h.update({"formance-webhook-id": "another"}), id="other-id"),
        pytest.param(lambda h: h.update({"formance-webhook-timestamp": "soon"}), id="bad-timestamp"),
        pytest.param(lambda h: h.update({"formance-webhook-signature": "v2,AAAA v1"}), id="garbage"),
    ],
)
def test_a_delivery_that_does_not_verify_is_a_401_and_dispatches_nothing(client: httpx.Client, tamper: Any) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    body = json.dumps(envelope(event_type, {})).encode()
    headers = signed_headers(body)
    tamper(headers)
    assert_error(client.post("/v2/webhooks", content=body, headers=headers), 401, "VALIDATION")
    assert occurrences(client, trigger_id) == []


def test_a_tampered_body_is_a_401(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    body = json.dumps(envelope(event_type, {"amount": 1})).encode()
    headers = signed_headers(body)
    tampered = body.replace(b'"amount": 1', b'"amount": 9')
    assert_error(client.post("/v2/webhooks", content=tampered, headers=headers), 401, "VALIDATION")
    assert occurrences(client, trigger_id) == []


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_delivery_is_a_401(client: httpx.Client, skew: int) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    res = deliver(client, envelope(event_type, {}), timestamp=int(time.time()) + skew)
    assert_error(res, 401, "VALIDATION", "stale")
    assert occurrences(client, trigger_id) == []


def test_any_configured_secret_verifies_and_others_do_not(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    assert deliver(client, envelope(event_type, {}), secret=WEBHOOK_SECRETS[1]).status_code == 200
    assert_error(deliver(client, envelope(event_type, {}), secret="not-ours"), 401, "VALIDATION")
    # Several signatures in one header (the sender rotates): one valid among them is enough.
    body = json.dumps(envelope(event_type, {})).encode()
    good = signed_headers(body)
    bad = signed_headers(body, secret="not-ours", webhook_id=good["formance-webhook-id"],
                         timestamp=int(good["formance-webhook-timestamp"]))
    good["formance-webhook-signature"] = f"{bad['formance-webhook-signature']} {good['formance-webhook-signature']}"
    assert client.post("/v2/webhooks", content=body, headers=good).status_code == 200
    assert len(occurrences(client, trigger_id)) == 2


def test_a_signed_delivery_that_is_no_event_is_a_400(client: httpx.Client) -> None:
    for event in ({"type": "X", "date": "yesterday"}, {"date": datetime.now(UTC).isoformat()}, [1]):
        assert_error(deliver(client, event), 400, "VALIDATION")  # type: ignore[arg-type]


def test_the_gateway_mount_serves_webhooks_too(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    body = json.dumps(envelope(event_type, {})).encode()
    res = client.post("/api/orchestration/v2/webhooks", content=body, headers=signed_headers(body))
    assert res.status_code == 200 and len(occurrences(client, trigger_id)) == 1


def test_filters_select_and_errors_do_not_match(client: httpx.Client) -> None:
    event_type = f"TEST_{uuid.uuid4().hex}"
    other_ledger, _ = new_trigger(client, [{"noop": {}}], event=event_type, filter='event.ledger == "other"')
    default, _ = new_trigger(client, [{"noop": {}}], event=event_type, filter='event.ledger == "default"')
    failing, _ = new_trigger(client, [{"noop": {}}], event=event_type, filter="event.missing.field == 1")
    not_bool, _ = new_trigger(client, [{"noop": {}}], event=event_type, filter="event.ledger")
    unfiltered, _ = new_trigger(client, [{"noop": {}}], event=event_type, filter="")
    elsewhere, _ = new_trigger(client, [{"noop": {}}])
    assert deliver(client, envelope(event_type, {"ledger": "default", "transactions": []})).status_code == 200
    fired = {t: len(occurrences(client, t)) for t in (other_ledger, default, failing, not_bool, unfiltered, elsewhere)}
    assert fired == {other_ledger: 0, default: 1, failing: 0, not_bool: 0, unfiltered: 1, elsewhere: 0}


def test_a_versioned_trigger_fires_only_for_its_version(client: httpx.Client) -> None:
    event_type = f"TEST_{uuid.uuid4().hex}"
    v2, _ = new_trigger(client, [{"noop": {}}], event=event_type, version="v2")
    any_version, _ = new_trigger(client, [{"noop": {}}], event=event_type)
    unversioned_only, _ = new_trigger(client, [{"noop": {}}], event=event_type, version="")
    deliver(client, envelope(event_type, {}, version="v2"))
    deliver(client, envelope(event_type, {}, version="v3"))
    deliver(client, {k: v for k, v in envelope(event_type, {}).items() if k != "version"})
    assert len(occurrences(client, v2)) == 1
    assert len(occurrences(client, any_version)) == 3
    assert len(occurrences(client, unversioned_only)) == 1


def test_a_payment_fires_a_trigger_once_per_payment_and_only_when_it_matched(client: httpx.Client) -> None:
    # Q-20 as the newest upstream: PENDING first does not use up the SUCCEEDED trigger.
    succeeded, _ = new_trigger(client, [{"noop": {}}], event="SAVED_PAYMENT",
                               filter=f'event.status == "SUCCEEDED" and event.provider == "{uuid.uuid4()}"')
    provider = client.get(f"/triggers/{succeeded}").json()["data"]["filter"].split('"')[-2]
    any_status, _ = new_trigger(client, [{"noop": {}}], event="SAVED_PAYMENT", filter=f'event.provider == "{provider}"')
    payment = str(uuid.uuid4())
    for status in ("PENDING", "SUCCEEDED", "SUCCEEDED"):
        res = deliver(client, envelope("SAVED_PAYMENT", {"id": payment, "status": status, "provider": provider}))
        assert res.status_code == 200, res.text
    assert len(occurrences(client, succeeded)) == 1
    assert occurrences(client, succeeded)[0]["event"]["payload"]["status"] == "SUCCEEDED"
    assert len(occurrences(client, any_status)) == 1
    assert occurrences(client, any_status)[0]["event"]["payload"]["status"] == "PENDING"
    # Another payment fires both again (other tests' SAVED_PAYMENT triggers may fire too).
    deliver(client, envelope("SAVED_PAYMENT", {"id": str(uuid.uuid4()), "status": "SUCCEEDED", "provider": provider}))
    assert (len(occurrences(client, succeeded)), len(occurrences(client, any_status))) == (2, 2)


def test_a_failing_variable_records_a_failed_occurrence_and_starts_nothing(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}], vars={"fail": 'link(event, "unknown").name'})
    res = deliver(client, envelope(event_type, {"id": "x"}))
    assert res.json()["data"]["started"] == [] and len(res.json()["data"]["failed"]) == 1
    [occurrence] = occurrences(client, trigger_id)
    assert occurrence["error"] == "link 'unknown' not defined for object"
    assert "workflowInstanceID" not in occurrence and "workflowInstance" not in occurrence


def test_a_deleted_trigger_does_not_fire(client: httpx.Client) -> None:
    trigger_id, event_type = new_trigger(client, [{"noop": {}}])
    assert client.delete(f"/triggers/{trigger_id}").status_code == 204
    assert deliver(client, envelope(event_type, {})).json()["data"]["started"] == []
    assert occurrences(client, trigger_id) == []


def test_variables_follow_links_and_reach_the_run(client: httpx.Client) -> None:
    with LinkServer() as links:
        trigger_id, event_type = new_trigger(
            client, [{"wait_event": {"event": "${account}"}}],
            vars={"account": 'link(event, "destination_account").name'},
        )
        payload = {"links": [{"name": "destination_account", "uri": links.resource({"name": "foo"})}]}
        started = deliver(client, envelope(event_type, payload)).json()["data"]["started"]
    # The stage waits for the event named by the variable: sending "foo" ends it.
    assert client.post(f"/instances/{started[0]}/events", json={"name": "foo"}).status_code == 204
    assert "error" not in wait_terminated(client, started[0])


def test_webhooks_are_off_without_a_secret(new_server: ServerProcess) -> None:
    new_server.start()
    res = new_server.client().post("/v2/webhooks", json=envelope("X", {}))
    assert_error(res, 404, "NOT_FOUND", "--webhooks-secret")
