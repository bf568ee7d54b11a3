"""The newest `send` options end to end (FLOWS-2026 §28.1–§28.4), against the fake gateway, on both
databases: payouts through any PSP by transfer initiation, bridges, overdrafts, payment ingestion."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.helpers import assert_error, get_instance, run, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.fake_stack._faults import RecordedRequest
from tests.testing.server import ServerProcess, eventually

README = Path(__file__).resolve().parents[2] / "README.md"
TRANSFERS = "/api/payments/transfer-initiations"
TO, FROM = "orchestration/move-to-ledger", "orchestration/move-from-ledger"


@pytest.fixture
def client(money_server: ServerProcess) -> httpx.Client:
    return money_server.client()


@pytest.fixture(scope="session", autouse=True)
def wise(fake_stack: FakeStack) -> Iterator[str]:
    """A Wise connector next to the fake's Stripe one (installed once per session's fake)."""
    [connector] = [c for c, provider in fake_stack.connectors().items() if provider == "WISE"] or [
        fake_stack.install_connector("WISE")
    ]
    yield connector


def workflow(client: httpx.Client, send: dict[str, Any]) -> str:
    res = client.post("/v2/workflows", json={"stages": [{"send": send}]})
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])


def history(client: httpx.Client, instance_id: str) -> list[dict[str, Any]]:
    res = client.get(f"/v2/instances/{instance_id}/stages/0/history")
    assert res.status_code == 200, res.text
    data: list[dict[str, Any]] = res.json()["data"]
    return data


def transfers_to(fake_stack: FakeStack, destination: str) -> list[RecordedRequest]:
    asked = fake_stack.requests("POST", TRANSFERS)
    return [r for r in asked if (r.json or {}).get("destinationAccountID") == destination]


def payout_account(fake_stack: FakeStack, ledger: str, key: str = "formanceAccountID", funds: int = 1000) -> str:
    """An account `merchant` with `funds` USD and its PSP account id under `key`; the PSP id, unique."""
    target = f"recipient-{uuid.uuid4().hex[:8]}"
    fake_stack.fund(ledger, "merchant", "USD", funds)
    fake_stack.set_account_metadata(ledger, "merchant", {key: target})
    return target


def test_a_wise_payout_debits_first_then_initiates_the_transfer(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.2 #67
    recipient = payout_account(fake_stack, ledger, "wiseRecipientID")
    wf = workflow(client, {
        "source": {"account": {"id": "merchant", "ledger": ledger}},
        "destination": {"payment": {"psp": "wise", "type": "PAYOUT", "sourceAccount": "wise-account-456",
                                    "metadata": "wiseRecipientID"}},
        "amount": {"amount": 500, "asset": "USD"},
    })
    done = run(client, wf, wait="true")
    assert done["terminated"] and "error" not in done, done

    [read] = fake_stack.requests("GET", f"/api/ledger/{ledger}/accounts/merchant")
    [debit] = [r for r in fake_stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions") if r.idempotency_key]
    [transfer] = transfers_to(fake_stack, recipient)
    assert read.received_at < debit.received_at < transfer.received_at
    assert debit.json["postings"] == [{"amount": 500, "asset": "USD", "destination": "world", "source": "merchant"}]
    assert transfer.idempotency_key is None
    assert transfer.json == {
        "amount": 500, "asset": "USD", "description": "wise PAYOUT", "destinationAccountID": recipient,
        "provider": "WISE", "reference": f"{done['id']}-02", "scheduledAt": "0001-01-01T00:00:00Z",
        "sourceAccountID": "wise-account-456", "type": "PAYOUT", "validated": True,
    }
    assert list(transfer.json) == sorted(transfer.json)  # the original's key order
    assert fake_stack.balance(ledger, "merchant", "USD") == 500
    activities = history(client, done["id"])
    assert [a["name"] for a in activities] == ["GetAccount", "CreateTransaction", "CreateTransferInitiation"]
    assert activities[2]["input"] == {"CreateTransferInitiation": {
        "amount": 500, "asset": "USD", "provider": "wise", "destination": recipient, "source": "wise-account-456",
        "type": "PAYOUT", "metadata": {}, "waitingValidation": False,
    }}
    assert "output" not in activities[2] and activities[2]["terminated"] is True


def test_a_wallet_payout_debits_the_wallet_then_pays_out_with_the_metadata(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.2 #68
    account = f"acct_{uuid.uuid4().hex[:8]}"
    wallet = fake_stack.create_wallet(f"w-{ledger}", ledger=ledger, metadata={"stripeConnectID": account})
    fund = workflow(client, {"source": {"account": {"id": "world", "ledger": ledger}},
                             "destination": {"wallet": {"id": wallet}}, "amount": {"amount": 300, "asset": "USD"}})
    assert "error" not in run(client, fund, wait="true")
    wf = workflow(client, {
        "source": {"wallet": {"id": wallet}},
        "destination": {"payment": {"psp": "stripe", "metadata": "stripeConnectID"}},
        "amount": {"amount": 100, "asset": "USD"}, "metadata": {"k": "v"},
    })
    done = run(client, wf, wait="true")
    assert "error" not in done, done
    [debit] = fake_stack.requests("POST", f"/api/wallets/wallets/{wallet}/debit")
    [transfer] = transfers_to(fake_stack, account)
    assert debit.received_at < transfer.received_at
    assert debit.json == {"amount": {"amount": 100, "asset": "USD"}, "balances": ["main"], "metadata": {"k": "v"}}
    assert (transfer.json["type"], transfer.json["description"], transfer.json["provider"]) == (
        "TRANSFER", "stripe TRANSFER", "STRIPE")
    assert transfer.json["sourceAccountID"] == "" and transfer.json["metadata"] == {"k": "v"}
    assert fake_stack.wallet_balance(wallet, "USD") == 200


@pytest.mark.parametrize("spelling", ["connectorId", "connectorID"])
def test_type_validation_and_connector_are_passed_on(
    client: httpx.Client, fake_stack: FakeStack, ledger: str, wise: str, spelling: str
) -> None:  # §28.2 #69; Q-51: `connectorID` is read too
    recipient = payout_account(fake_stack, ledger)
    wf = workflow(client, {
        "source": {"account": {"id": "merchant", "ledger": ledger}},
        "destination": {"payment": {"psp": "wise", "type": "payout", "waitingValidation": True, spelling: wise}},
        "amount": {"amount": 10, "asset": "USD"},
    })
    done = run(client, wf, wait="true")
    assert "error" not in done, done
    [transfer] = transfers_to(fake_stack, recipient)
    assert (transfer.json["type"], transfer.json["validated"], transfer.json["connectorID"]) == ("PAYOUT", False, wise)
    # Shown as sent (the original shows "payout", which the official SDK cannot read).
    assert history(client, done["id"])[2]["input"]["CreateTransferInitiation"]["type"] == "PAYOUT"


@pytest.mark.parametrize("code", ["INSUFFICIENT_FUND", "VALIDATION"])
def test_a_refused_debit_initiates_nothing(
    client: httpx.Client, fake_stack: FakeStack, ledger: str, code: str
) -> None:  # §28.2 #70 (the original retries INSUFFICIENT_FUND forever; it is final here)
    recipient = payout_account(fake_stack, ledger, funds=5)
    if code == "VALIDATION":
        fake_stack.fail_next("POST", f"/api/ledger/v2/{ledger}/transactions", status=400, code=code,
                             message="invalid transaction")
    wf = workflow(client, {"source": {"account": {"id": "merchant", "ledger": ledger}},
                           "destination": {"payment": {"psp": "stripe"}}, "amount": {"amount": 10, "asset": "USD"}})
    done = run(client, wf, wait="true")
    assert "insufficient funds" in done["error"] if code == "INSUFFICIENT_FUND" else done["error"] == (
        "invalid transaction")
    assert transfers_to(fake_stack, recipient) == []
    assert [a["name"] for a in history(client, done["id"])] == ["GetAccount", "CreateTransaction"]


def test_a_refused_transfer_fails_the_stage_saying_where_the_money_is(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.2 #71, and #67's "paypal": Payments refuses an unknown provider
    recipient = payout_account(fake_stack, ledger)
    wf = workflow(client, {"source": {"account": {"id": "merchant", "ledger": ledger,
                                                  "throughAccount": "liabilities:payouts-pending"}},
                           "destination": {"payment": {"psp": "paypal"}}, "amount": {"amount": 500, "asset": "USD"}})
    done = run(client, wf, wait="true")
    tx_id = fake_stack.transactions(ledger)[-1]["id"]
    assert done["error"] == (
        f"debited 500 USD from merchant@{ledger} to liabilities:payouts-pending@{ledger} (transaction {tx_id}), "
        "but the transfer to paypal " + recipient + " was refused: unknown connector provider: validation error; "
        f"the funds are in liabilities:payouts-pending@{ledger}"
    )
    [transfer] = transfers_to(fake_stack, recipient)  # tried once: a 4xx is not retried
    assert transfer.json["provider"] == "PAYPAL"
    assert fake_stack.balance(ledger, "liabilities:payouts-pending", "USD") == 500
    last = history(client, done["id"])[-1]
    assert last["name"] == "CreateTransferInitiation" and last["attempt"] == 1
    assert last["error"] == "unknown connector provider: validation error"


def test_a_failing_payments_service_is_retried_with_the_same_reference(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    recipient = payout_account(fake_stack, ledger)
    fake_stack.fail_next("POST", TRANSFERS, times=2, status=503)
    wf = workflow(client, {"source": {"account": {"id": "merchant", "ledger": ledger}},
                           "destination": {"payment": {"psp": "stripe"}}, "amount": {"amount": 7, "asset": "USD"}})
    done = run(client, wf, wait="true")
    assert "error" not in done, done
    tries = [r for r in fake_stack.requests("POST", TRANSFERS) if r.json.get("destinationAccountID") == recipient
             or r.status == 503 and r.json.get("reference", "").startswith(done["id"])]
    assert len(tries) == 3 and len({r.body for r in tries}) == 1  # the same body, the same reference
    assert len([t for t in fake_stack.transfer_initiations() if t["destinationAccountID"] == recipient]) == 1
    assert len(fake_stack.transactions(ledger)) == 2  # the funding, the one debit


def test_a_transfer_created_by_a_lost_attempt_is_not_created_twice(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    # Payments created it but the answer never came (a timeout): the next attempt gets "duplicate", which is done.
    recipient = payout_account(fake_stack, ledger)
    fake_stack.hang_next("POST", TRANSFERS, seconds=3)  # beyond --stack-timeout 2
    wf = workflow(client, {"source": {"account": {"id": "merchant", "ledger": ledger}},
                           "destination": {"payment": {"psp": "stripe"}}, "amount": {"amount": 7, "asset": "USD"}})
    done = run(client, wf, wait="true")
    assert "error" not in done, done
    assert len(transfers_to(fake_stack, recipient)) == 2
    assert [t["destinationAccountID"] for t in fake_stack.transfer_initiations()].count(recipient) == 1
    last = history(client, done["id"])[-1]
    assert last["attempt"] == 2 and last["terminated"] is True and "error" not in last


def test_an_unknown_transfer_type_is_refused_before_any_money_moves(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.2 #72 (the original debits, then retries the bad type forever)
    send = {"source": {"account": {"id": "merchant", "ledger": ledger}},
            "destination": {"payment": {"psp": "wise", "type": "WIRE"}}, "amount": {"amount": 1, "asset": "USD"}}
    assert_error(client.post("/v2/workflows", json={"stages": [{"send": send}]}), 400, "VALIDATION",
                 "invalid transfer type: WIRE (must be TRANSFER or PAYOUT)")
    recipient = payout_account(fake_stack, ledger)
    send["destination"]["payment"]["type"] = "${type}"  # type: ignore[index]
    done = run(client, workflow(client, send), {"type": "wire"}, wait="true")
    assert done["error"].endswith("invalid transfer type: wire (must be TRANSFER or PAYOUT)")
    assert len(fake_stack.transactions(ledger)) == 1 and transfers_to(fake_stack, recipient) == []


def test_an_overdraft_payout_through_a_bridge(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.3 #74 and the README's worked example
    recipient = payout_account(fake_stack, ledger, funds=0)
    wf = workflow(client, {
        "source": {"account": {"id": "merchant", "ledger": ledger, "throughAccount": "liabilities:payouts-pending",
                               "allowOverdraft": True}},
        "destination": {"payment": {"psp": "wise", "type": "PAYOUT"}},
        "amount": {"amount": 1000, "asset": "USD"},
    })
    done = run(client, wf, wait="true")
    assert "error" not in done, done
    [debit] = [r for r in fake_stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions")
               if r.idempotency_key and r.idempotency_key.startswith(done["id"])]
    assert debit.json == {"script": {"plain": "send [USD 1000] (\n  source = @merchant allowing unbounded overdraft\n"
                                              "  destination = @liabilities:payouts-pending\n)"}}
    assert fake_stack.balance(ledger, "merchant", "USD") == -1000
    assert fake_stack.balance(ledger, "liabilities:payouts-pending", "USD") == 1000
    assert len(transfers_to(fake_stack, recipient)) == 1
    activity = history(client, done["id"])[1]
    assert activity["input"] == {"CreateTransaction": {"Ledger": ledger, "Data": debit.json}}


def test_cross_ledger_bridges_with_overdrafts(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    # §28.3 #75: out through one bridge, in through the other, each allowed below zero.
    other = f"{ledger}-2"
    fake_stack.create_ledger(other)
    wf = workflow(client, {
        "source": {"account": {"id": "users:sender", "ledger": ledger, "throughAccount": "bridge:outbound",
                               "allowOverdraft": True}},
        "destination": {"account": {"id": "merchants:receiver", "ledger": other, "throughAccount": "bridge:inbound",
                                    "allowOverdraft": True}},
        "amount": {"amount": 250, "asset": "GBP"},
    })
    assert "error" not in run(client, wf, wait="true")
    assert fake_stack.balance(ledger, "users:sender", "GBP") == -250
    assert fake_stack.balance(ledger, "bridge:outbound", "GBP") == 250
    assert fake_stack.balance(other, "bridge:inbound", "GBP") == -250
    assert fake_stack.balance(other, "merchants:receiver", "GBP") == 250
    [out] = fake_stack.transactions(ledger)
    [into] = fake_stack.transactions(other)
    assert out["metadata"] == {TO: other} and into["metadata"] == {FROM: ledger}


def test_a_bridge_without_overdraft_must_hold_the_funds(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    other = f"{ledger}-2"
    fake_stack.create_ledger(other)
    wf = workflow(client, {
        "source": {"account": {"id": "world", "ledger": ledger}},
        "destination": {"account": {"id": "d", "ledger": other, "throughAccount": "bridge:inbound"}},
        "amount": {"amount": 5, "asset": "GBP"},
    })
    done = run(client, wf, wait="true")
    [out] = fake_stack.transactions(ledger)
    assert done["error"].startswith(f"moved 5 GBP from world@{ledger} to world@{ledger} (transaction {out['id']}), "
                                    f"but the move from bridge:inbound@{other} to d@{other} failed: ")
    assert "insufficient funds" in done["error"]


def test_custom_payment_ingestion(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:  # §28.4 #81
    payment = fake_stack.create_payment(f"payment-{uuid.uuid4().hex[:6]}", amount=1500, asset="USD")
    holding = f"transit:{payment.replace('-', '_')}"
    fake_stack.fund(ledger, "assets:stripe", "USD", 1500)
    wf = workflow(client, {
        "source": {"payment": {"id": payment, "ledger": ledger, "holdingAccount": holding,
                               "throughAccount": "assets:stripe"}},
        "destination": {"account": {"id": "revenue:sales", "ledger": ledger}},
        "amount": {"amount": "${amount}", "asset": "USD"},
    })
    assert "error" not in run(client, wf, {"amount": "1000"}, wait="true")
    imported, sold = fake_stack.transactions(ledger)[1:]
    assert imported["reference"] == holding
    assert imported["postings"] == [{"source": "assets:stripe", "destination": holding, "amount": 1500, "asset": "USD"}]
    assert sold["postings"] == [{"source": holding, "destination": "revenue:sales", "amount": 1000, "asset": "USD"}]
    again = run(client, wf, {"amount": "500"}, wait="true")  # imported once (CONFLICT on the reference): the rest
    assert "error" not in again, again
    assert len(fake_stack.transactions(ledger)) == 4
    assert fake_stack.balance(ledger, holding, "USD") == 0
    assert fake_stack.balance(ledger, "revenue:sales", "USD") == 1500
    import_attempt = history(client, again["id"])[1]
    assert import_attempt["name"] == "CreateTransaction" and "duplicate reference" in import_attempt["error"]


def test_an_instance_paying_out_is_aborted_between_the_debit_and_the_transfer(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    # A transfer initiation waiting for its next attempt stops there when the instance is aborted.
    recipient = payout_account(fake_stack, ledger)
    fake_stack.fail_next("POST", TRANSFERS, times=None, status=503)
    try:
        wf = workflow(client, {"source": {"account": {"id": "merchant", "ledger": ledger}},
                               "destination": {"payment": {"psp": "stripe"}}, "amount": {"amount": 3, "asset": "USD"}})
        instance = run(client, wf)["id"]
        eventually(lambda: history(client, instance) if client.get(f"/v2/instances/{instance}/stages/0/history")
                   .status_code == 200 else [], lambda h: len(h) == 3 and "lastFailure" in h[2])
        assert client.put(f"/v2/instances/{instance}/abort").status_code == 204
        assert wait_terminated(client, instance)["error"] == "canceled"
        asked = len(transfers_to(fake_stack, recipient))
        # The pending attempt is cancelled (an attempt checks its instance before calling); and its next one,
        # due within --activity-retry-max, is not made while a later payout of the account runs to its end.
        cancelled = history(client, instance)[2]
        assert cancelled["terminated"] is True and cancelled["error"] == "cancelled"
        fake_stack.clear_faults()
        later = run(client, wf, wait="true")
        assert "error" not in later, later
    finally:
        fake_stack.clear_faults()
    mine = [r for r in transfers_to(fake_stack, recipient) if r.json["reference"].startswith(instance)]
    assert len(mine) == asked
    assert get_instance(client, instance)["terminated"]


def test_the_official_sdk_builds_runs_and_reads_the_new_options(
    money_server: ServerProcess, fake_stack: FakeStack, ledger: str, wise: str
) -> None:  # the models of formance-sdk-python, as a user who reads them writes a payout
    from formance_sdk_python import SDK
    from formance_sdk_python.models import operations as ops
    from formance_sdk_python.models import orchestration as om

    recipient = payout_account(fake_stack, ledger, funds=0)
    send = om.V2StageSend(
        source=om.V2StageSendSource(account=om.V2StageSendSourceAccount(
            id="merchant", ledger=ledger, through_account="liabilities:payouts-pending", allow_overdraft=True)),
        destination=om.V2StageSendDestination(payment=om.V2StageSendDestinationPayment(
            psp="wise", type=om.V2StageSendDestinationPaymentType.PAYOUT, source_account="wise-account-456")),
        amount=om.V2Monetary(amount=250, asset="USD"),
    )
    v2 = SDK(server_url=money_server.url).orchestration.v2
    created = v2.create_workflow(request=om.V2WorkflowConfig(stages=[{"send": send.model_dump(mode="json",
                                                                                                by_alias=True)}]))
    workflow_id = created.v2_create_workflow_response.data.id
    ran = v2.run_workflow(request=ops.V2RunWorkflowRequest(workflow_id=workflow_id, wait=True))
    instance = ran.v2_run_workflow_response.data
    assert instance.terminated and instance.error is None
    stages = v2.get_instance_stage_history(
        request=ops.V2GetInstanceStageHistoryRequest(instance_id=instance.id, number=0)
    ).v2_get_workflow_instance_history_stage_response.data
    initiation = stages[2].input.create_transfer_initiation
    assert initiation is not None and initiation.provider == "wise" and initiation.destination == recipient
    assert initiation.type == om.V2CreateTransferInitiationRequestType.PAYOUT
    assert stages[1].input.create_transaction is not None  # `Ledger`/`Data`, which the SDK does not map
    assert fake_stack.balance(ledger, "liabilities:payouts-pending", "USD") == 250
    [transfer] = transfers_to(fake_stack, recipient)
    assert transfer.json["provider"] == "WISE" and transfer.json["sourceAccountID"] == "wise-account-456"


def test_the_readme_payout_example_runs_as_written(client: httpx.Client, fake_stack: FakeStack) -> None:
    text = README.read_text()
    section = text[text.index("### Send options"):]
    definition = section[section.index("<<'YAML'\n") + len("<<'YAML'\n"):section.index("\nYAML\n")]
    fake_stack.create_ledger("main")
    fake_stack.set_account_metadata("main", "users:1", {"wiseRecipientID": "recipient-789"})
    created = client.post("/v2/workflows", content=definition, headers={"Content-Type": "text/vnd.yaml"})
    assert created.status_code == 201, created.text
    done = run(client, created.json()["data"]["id"], {"user": "1", "amount": "500"}, wait="true")
    assert "error" not in done, done
    assert [a["name"] for a in history(client, done["id"])] == [
        "GetAccount", "CreateTransaction", "CreateTransferInitiation"]
    [transfer] = [r for r in transfers_to(fake_stack, "recipient-789") if r.json["reference"] == f"{done['id']}-02"]
    assert (transfer.json["provider"], transfer.json["type"], transfer.json["amount"]) == ("WISE", "PAYOUT", 500)
    [debit] = [r for r in fake_stack.requests("POST", "/api/ledger/v2/main/transactions")
               if (r.idempotency_key or "").startswith(done["id"])]
    assert debit.json["script"]["plain"].startswith("send [EUR/2 500] (\n  source = @users:1 allowing unbounded")


def test_creation_checks_and_the_history_shapes_of_the_new_options(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.1 #65, #66
    def create(send: dict[str, Any]) -> httpx.Response:
        return client.post("/v2/workflows", json={"stages": [{"send": send}]})

    account = {"account": {"id": "foo", "ledger": ledger}}
    for bad, says in (({"allowOverdraft": "${x}"}, "AllowOverdraft"), ({"throughAccount": 5}, "ThroughAccount")):
        res = create({"source": {"account": {"id": "foo", **bad}}, "destination": account})
        assert_error(res, 400, "VALIDATION", says)
    assert create({"source": {"account": {"id": "foo", "allowOverdraft": "TRUE"}}, "destination": account}).is_success

    fake_stack.fund(ledger, "foo", "USD", 10)
    done = run(client, workflow(client, {"source": account, "destination": {"account": {"id": "bar", "ledger": ledger}},
                                         "amount": {"amount": 1, "asset": "USD"}}), wait="true")
    [stage] = client.get(f"/v2/instances/{done['id']}/history").json()["data"]
    assert stage["input"]["source"]["account"] == {"id": "foo", "ledger": ledger, "throughAccount": "world",
                                                   "allowOverdraft": False}
    payment = fake_stack.create_payment(f"p-{uuid.uuid4().hex[:6]}", amount=5, asset="USD")
    to_psp = {"source": {"payment": {"id": payment}}, "destination": {"payment": {"psp": "stripe"}}}
    failed = run(client, workflow(client, to_psp), wait="true")  # F9: refused, with its history entry
    assert failed["error"] == "send from payment to payment is not supported"
    [stage] = client.get(f"/v2/instances/{failed['id']}/history").json()["data"]
    assert stage["input"]["source"]["payment"] == {"id": payment, "throughAccount": "world", "allowOverdraft": False}
    assert stage["input"]["destination"]["payment"] == {"psp": "stripe", "type": "TRANSFER",
                                                        "metadata": "formanceAccountID", "waitingValidation": False}


def test_a_payment_to_an_account_of_another_ledger_through_its_bridge(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §28.4 #80
    internal = "orchestration-000-internal"
    fake_stack.create_ledger(internal)
    for through, overdraft in (("world", False), ("assets:stripe:incoming", True)):
        payment = fake_stack.create_payment(f"p-{uuid.uuid4().hex[:6]}", amount=500, asset="EUR")
        held = "payment:" + payment.replace("-", "_")
        wf = workflow(client, {"source": {"payment": {"id": payment}},
                               "destination": {"account": {"id": "foo", "ledger": ledger, "throughAccount": through,
                                                           "allowOverdraft": overdraft}}})
        done = run(client, wf, wait="true")
        assert "error" not in done, done
        imported, out = [t for t in fake_stack.transactions(internal) if held in str(t["postings"])]
        assert imported["reference"] == held and imported["postings"][0]["source"] == "world"
        assert out["postings"] == [{"source": held, "destination": "world", "amount": 500, "asset": "EUR"}]
        assert out["metadata"] == {TO: ledger}
        [into] = [r.json for r in fake_stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions")
                  if (r.idempotency_key or "").startswith(done["id"])]
        assert into["metadata"] == {FROM: internal}
        if overdraft:
            assert into["script"]["plain"] == ("send [EUR 500] (\n  source = @assets:stripe:incoming allowing "
                                               "unbounded overdraft\n  destination = @foo\n)")
        else:
            assert into["postings"] == [{"source": "world", "destination": "foo", "amount": 500, "asset": "EUR"}]
    assert fake_stack.balance(ledger, "foo", "EUR") == 1000
    assert fake_stack.balance(ledger, "assets:stripe:incoming", "EUR") == -500


def test_a_payment_held_on_the_wallet_ledger_credits_the_wallet_from_its_holding_account(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:  # §21.2 F8 with a custom ledger and holding account: one credit, from ACCOUNT(H)
    payment = fake_stack.create_payment(f"p-{uuid.uuid4().hex[:6]}", amount=300, asset="USD")
    holding = f"incoming:{payment.replace('-', '_')}"
    wallet = fake_stack.create_wallet(f"w-{payment}", ledger=ledger)
    wf = workflow(client, {"source": {"payment": {"id": payment, "ledger": ledger, "holdingAccount": holding}},
                           "destination": {"wallet": {"id": wallet}}})
    done = run(client, wf, wait="true")
    assert "error" not in done, done
    [imported] = fake_stack.transactions(ledger)[:1]
    assert imported["reference"] == holding
    [credit] = fake_stack.requests("POST", f"/api/wallets/wallets/{wallet}/credit")
    assert credit.json["sources"] == [{"identifier": holding, "type": "ACCOUNT"}]
    assert fake_stack.wallet_balance(wallet, "USD") == 300 and fake_stack.balance(ledger, holding, "USD") == 0
    assert [a["name"] for a in history(client, done["id"])] == [
        "GetPayment", "CreateTransaction", "GetWallet", "CreditWallet"]
