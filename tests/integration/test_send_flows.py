"""Every send flow (F1–F9, spec §6.5.3) and every upstream example that needs a stack,
run end to end against the fake gateway and asserted on its balances."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.helpers import run, wait_stage, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.server import ServerProcess
from tests.testing.shared import shared_dir

INTERNAL = "orchestration-000-internal"
MOVE_TO, MOVE_FROM = "orchestration/move-to-ledger", "orchestration/move-from-ledger"


@pytest.fixture
def client(money_server: ServerProcess) -> httpx.Client:
    return money_server.client()


@pytest.fixture
def ledgers(fake_stack: FakeStack) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    for name in (f"a-{suffix}", f"b-{suffix}", INTERNAL):
        fake_stack.create_ledger(name)
    return f"a-{suffix}", f"b-{suffix}"


def _example(client: httpx.Client, name: str) -> str:
    text = (shared_dir() / "reference" / "examples" / f"{name}.yaml").read_text()
    res = client.post("/workflows", content=text, headers={"Content-Type": "text/vnd.yaml"})
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])


def _workflow(client: httpx.Client, send: dict[str, Any]) -> str:
    res = client.post("/workflows", json={"stages": [{"send": send}]})
    assert res.status_code == 201, res.text
    return str(res.json()["data"]["id"])


def _ok(client: httpx.Client, workflow_id: str, variables: dict[str, str] | None = None) -> dict[str, Any]:
    done = run(client, workflow_id, variables, wait="true")
    assert done["terminated"] and "error" not in done, done.get("error")
    return done


def _fund_wallet(client: httpx.Client, wallet_id: str, ledger: str, amount: int, asset: str = "EUR/2") -> None:
    """Credit a wallet from `world` of its own ledger through the service itself (F2, same ledger)."""
    _ok(
        client,
        _workflow(
            client,
            {
                "source": {"account": {"id": "world", "ledger": ledger}},
                "destination": {"wallet": {"id": wallet_id}},
                "amount": {"amount": amount, "asset": asset},
            },
        ),
    )


def test_f1_ledger_to_ledger_example_same_ledger(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, _ = ledgers
    fake_stack.fund(a, "alice", "EUR/2", 500)
    _ok(
        client,
        _example(client, "ledger-to-ledger"),
        {"accountID1": "alice", "accountID2": "bob", "ledger": a, "amount": "200"},
    )
    assert (fake_stack.balance(a, "alice", "EUR/2"), fake_stack.balance(a, "bob", "EUR/2")) == (300, 200)


def test_f1_across_ledgers_goes_through_world_on_both(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, b = ledgers
    fake_stack.fund(a, "foo", "USD", 100)
    _ok(
        client,
        _workflow(
            client,
            {
                "source": {"account": {"id": "foo", "ledger": a}},
                "destination": {"account": {"id": "bar", "ledger": b}},
                "amount": {"amount": 100, "asset": "USD"},
            },
        ),
    )
    first, second = fake_stack.requests("POST", f"/api/ledger/v2/({a}|{b})/transactions")
    assert first.path.endswith(f"/{a}/transactions") and first.json["metadata"] == {MOVE_TO: b}
    assert first.json["postings"] == [{"amount": 100, "asset": "USD", "destination": "world", "source": "foo"}]
    assert second.path.endswith(f"/{b}/transactions") and second.json["metadata"] == {MOVE_FROM: a}
    assert fake_stack.balance(a, "foo", "USD") == 0 and fake_stack.balance(b, "bar", "USD") == 100


def test_f2_ledger_to_wallet_example(client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]) -> None:
    a, _ = ledgers
    wallet = fake_stack.create_wallet(f"w-{a}", ledger=a)
    fake_stack.fund(a, "alice", "EUR/2", 300)
    _ok(
        client,
        _example(client, "ledger-to-wallet"),
        {"accountID": "alice", "ledger": a, "walletID": wallet, "amount": "120"},
    )
    assert fake_stack.wallet_balance(wallet, "EUR/2") == 120 and fake_stack.balance(a, "alice", "EUR/2") == 180
    [credit] = fake_stack.requests("POST", f"/api/wallets/wallets/{wallet}/credit")
    assert credit.json["sources"] == [{"type": "ACCOUNT", "identifier": "alice"}]


def test_f2_across_ledgers_credits_from_world(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, b = ledgers
    wallet = fake_stack.create_wallet(f"w-{b}", ledger=b)
    fake_stack.fund(a, "alice", "EUR/2", 100)
    _ok(
        client,
        _workflow(
            client,
            {
                "source": {"account": {"id": "alice", "ledger": a}},
                "destination": {"wallet": {"name": f"w-{b}"}},
                "amount": {"amount": 100, "asset": "EUR/2"},
            },
        ),
    )
    assert fake_stack.balance(a, "alice", "EUR/2") == 0 and fake_stack.wallet_balance(wallet, "EUR/2") == 100
    [credit] = fake_stack.requests("POST", f"/api/wallets/wallets/{wallet}/credit")
    assert credit.json["sources"] == [{"type": "ACCOUNT", "identifier": "world"}]
    assert credit.json["metadata"] == {MOVE_FROM: a}


def test_f3_account_to_stripe_payout(client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]) -> None:
    a, _ = ledgers
    fake_stack.fund(a, "merchant", "USD/2", 1000)
    fake_stack.set_account_metadata(a, "merchant", {"formanceAccountID": f"acct-{a}"})
    done = _ok(
        client,
        _workflow(
            client,
            {
                "source": {"account": {"id": "merchant", "ledger": a}},
                "destination": {"payment": {"psp": "stripe"}},
                "amount": {"amount": 400, "asset": "USD/2"},
            },
        ),
    )
    [transfer] = [t for t in fake_stack.transfer_initiations() if t["destinationAccountID"] == f"acct-{a}"]
    assert transfer["amount"] == 400 and transfer["provider"] == "STRIPE" and transfer["validated"] is True
    assert transfer["reference"] == f"{done['id']}-02"  # the third call of stage 0, after the debit
    assert fake_stack.balance(a, "merchant", "USD/2") == 600


def test_f3_missing_metadata_fails_before_any_money_moves(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:  # FLOWS-2026 §28.2 #73
    a, _ = ledgers
    fake_stack.fund(a, "x", "USD", 10)
    no_metadata = _workflow(
        client,
        {
            "source": {"account": {"id": "x", "ledger": a}},
            "destination": {"payment": {"psp": "wise"}},
            "amount": {"amount": 1, "asset": "USD"},
        },
    )
    before = len(fake_stack.transfer_initiations())
    assert (
        run(client, no_metadata, wait="true")["error"]
        == "expected 'formanceAccountID' metadata containing formance account ID"
    )
    assert len(fake_stack.transactions(a)) == 1  # the funding only
    assert len(fake_stack.transfer_initiations()) == before


def test_f4_wallet_to_account_same_and_across_ledgers(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, b = ledgers
    wallet = fake_stack.create_wallet(f"w4-{a}", ledger=a)
    _fund_wallet(client, wallet, a, 300)
    for ledger in (a, b):
        _ok(
            client,
            _workflow(
                client,
                {
                    "source": {"wallet": {"id": wallet}},
                    "destination": {"account": {"id": "shop", "ledger": ledger}},
                    "amount": {"amount": 100, "asset": "EUR/2"},
                },
            ),
        )
    assert fake_stack.wallet_balance(wallet, "EUR/2") == 100
    assert fake_stack.balance(a, "shop", "EUR/2") == 100 and fake_stack.balance(b, "shop", "EUR/2") == 100
    same, across = fake_stack.requests("POST", f"/api/wallets/wallets/{wallet}/debit")
    assert same.json["destination"] == {"type": "ACCOUNT", "identifier": "shop"}
    assert "destination" not in across.json and across.json["metadata"] == {MOVE_TO: b}


def test_f4_insufficient_wallet_balance_fails_cleanly(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, _ = ledgers
    wallet = fake_stack.create_wallet(f"w4x-{a}", ledger=a)
    done = run(
        client,
        _workflow(
            client,
            {
                "source": {"wallet": {"id": wallet}},
                "destination": {"account": {"id": "shop", "ledger": a}},
                "amount": {"amount": 1, "asset": "EUR/2"},
            },
        ),
        wait="true",
    )
    assert done["error"] and fake_stack.balance(a, "shop", "EUR/2") == 0


def test_f5_wallet_to_payout_example(client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]) -> None:
    a, _ = ledgers
    wallet = fake_stack.create_wallet(f"w5-{a}", ledger=a, metadata={"formanceAccountID": f"acct5-{a}"})
    _fund_wallet(client, wallet, a, 500)
    _ok(client, _example(client, "wallet-to-payout"), {"walletID": wallet, "balance": "", "amount": "200"})
    assert fake_stack.wallet_balance(wallet, "EUR/2") == 300
    [transfer] = [t for t in fake_stack.transfer_initiations() if t["destinationAccountID"] == f"acct5-{a}"]
    assert transfer["amount"] == 200


def test_f6_wallet_to_wallet_same_and_across_ledgers(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, b = ledgers
    source = fake_stack.create_wallet(f"s6-{a}", ledger=a)
    near = fake_stack.create_wallet(f"n6-{a}", ledger=a)
    far = fake_stack.create_wallet(f"f6-{b}", ledger=b)
    _fund_wallet(client, source, a, 300)
    for target in (near, far):
        _ok(
            client,
            _workflow(
                client,
                {
                    "source": {"wallet": {"id": source}},
                    "destination": {"wallet": {"id": target}},
                    "amount": {"amount": 100, "asset": "EUR/2"},
                },
            ),
        )
    assert [fake_stack.wallet_balance(w, "EUR/2") for w in (source, near, far)] == [100, 100, 100]
    [same] = fake_stack.requests("POST", f"/api/wallets/wallets/{near}/credit")
    assert same.json["sources"] == [{"type": "WALLET", "identifier": source, "balance": "main"}]


def test_f7_workflow_example_payment_to_account_then_event_then_send(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, _ = ledgers
    payment = fake_stack.create_payment(f"pay-{a}", amount=1000, asset="EUR/2")
    inst = run(
        client,
        _example(client, "workflow"),
        {
            "paymentID": payment,
            "temporaryAccount": "tmp",
            "ledger": a,
            "amount": "250",
            "user": "alice",
        },
    )["id"]
    wait_stage(client, inst, 1)
    internal_account = "payment:" + payment.replace("-", "_")
    assert fake_stack.balance(INTERNAL, internal_account, "EUR/2") == 750  # imported 1000, moved 250
    assert fake_stack.balance(a, "tmp", "EUR/2") == 250
    client.post(f"/instances/{inst}/events", json={"name": "processed"})
    assert "error" not in wait_terminated(client, inst)
    assert fake_stack.balance(a, "alice", "EUR/2") == 250


def test_f8_payin_to_wallet_example_imports_the_payment_once(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, _ = ledgers
    wallet = fake_stack.create_wallet(f"w8-{a}", ledger=a)
    payment = fake_stack.create_payment(f"pay8-{a}", amount=1000, asset="EUR/2")
    workflow = _example(client, "payin-to-wallet")
    for _ in range(2):  # the second import is a CONFLICT, tolerated
        _ok(client, workflow, {"paymentID": payment, "walletID": wallet, "amount": "300"})
    assert fake_stack.wallet_balance(wallet, "EUR/2") == 600
    internal_account = "payment:" + payment.replace("-", "_")
    assert fake_stack.balance(INTERNAL, internal_account, "EUR/2") == 400
    imports = [t for t in fake_stack.transactions(INTERNAL) if t.get("reference") == internal_account]
    assert len(imports) == 1


def test_f8_default_amount_is_the_payment_amount(
    client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]
) -> None:
    a, _ = ledgers
    wallet = fake_stack.create_wallet(f"w8d-{a}", ledger=a)
    payment = fake_stack.create_payment(f"pay8d-{a}", amount=777, asset="EUR/2")
    _ok(client, _workflow(client, {"source": {"payment": {"id": payment}}, "destination": {"wallet": {"id": wallet}}}))
    assert fake_stack.wallet_balance(wallet, "EUR/2") == 777


def test_update_account_metadata_example(client: httpx.Client, fake_stack: FakeStack, ledgers: tuple[str, str]) -> None:
    a, _ = ledgers
    _ok(client, _example(client, "update-account-metadata"), {"accountID": "acc", "ledger": a, "value": "v1"})
    assert fake_stack.account_metadata(a, "acc") == {"foo": "v1"}


def test_failing_workflow_example_fails_with_the_ledger_message(client: httpx.Client, fake_stack: FakeStack) -> None:
    fake_stack.create_ledger("default")
    done = run(client, _example(client, "failing-workflow"), wait="true")
    # Upstream retries insufficient funds forever; here it fails at once with the Ledger's words.
    assert "insufficient funds" in done["error"]
