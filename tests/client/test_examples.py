"""Every definition of `examples/` runs to its end against a real server and the fake Formance stack, as
its comment says to run it: created, run and followed with the client, its events sent with the client."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.client.conftest import Cli
from tests.testing.fake_stack import FakeStack
from tests.testing.fake_stack._wallets import balance_account

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INTERNAL_LEDGER = "orchestration-000-internal"


@dataclass
class Run:
    """How an example runs: its variables, the events sent once it started, and what it must have done."""

    variables: dict[str, str]
    events: list[str] = field(default_factory=list)
    done: Callable[[], bool] = lambda: True


Setup = Callable[[FakeStack, str], Run]


def _ledger(stack: FakeStack, tag: str, name: str = "l") -> str:
    ledger = f"{name}-{tag}"
    stack.create_ledger(ledger)
    return ledger


def pause(stack: FakeStack, tag: str) -> Run:
    return Run({"pause": "50ms"})


def ledger_transfer(stack: FakeStack, tag: str) -> Run:
    ledger = _ledger(stack, tag)
    stack.fund(ledger, "users:1", "EUR/2", 2500)
    return Run(
        {"ledger": ledger, "from": "users:1", "to": "merchants:7", "amount": "2500", "order": "42"},
        done=lambda: stack.balance(ledger, "merchants:7", "EUR/2") == 2500
        and stack.transactions(ledger)[-1]["metadata"] == {"order": "42"},
    )


def escrow(stack: FakeStack, tag: str) -> Run:
    ledger = _ledger(stack, tag)
    stack.fund(ledger, "users:1", "EUR/2", 2500)
    variables = {"ledger": ledger, "buyer": "users:1", "seller": "merchants:7", "order": "42", "amount": "2500"}
    return Run(
        variables,
        events=["confirmed"],
        done=lambda: stack.balance(ledger, "merchants:7", "EUR/2") == 2500
        and stack.balance(ledger, "escrow:42", "EUR/2") == 0,
    )


def cross_ledger(stack: FakeStack, tag: str) -> Run:
    treasury, operations = _ledger(stack, tag, "treasury"), _ledger(stack, tag, "operations")
    stack.fund(treasury, "bank:main", "USD/2", 100000)
    return Run(
        {"from_ledger": treasury, "to_ledger": operations, "amount": "100000"},
        done=lambda: stack.balance(operations, "bank:operations", "USD/2") == 100000
        and stack.balance(operations, "bridge:treasury", "USD/2") == -100000
        and stack.balance(treasury, "bridge:operations", "USD/2") == 100000,
    )


def top_up_wallet(stack: FakeStack, tag: str) -> Run:
    ledger = _ledger(stack, tag)
    stack.fund(ledger, "promotions", "EUR/2", 5000)
    wallet = stack.create_wallet(f"customer:alice-{tag}", ledger)
    return Run(
        {"ledger": ledger, "customer": f"alice-{tag}", "amount": "5000"},
        done=lambda: stack.wallet_balance(wallet, "EUR/2") == 5000,
    )


def payin_to_wallet(stack: FakeStack, tag: str) -> Run:
    stack.create_ledger(INTERNAL_LEDGER)
    wallet = stack.create_wallet(f"payin-{tag}", _ledger(stack, tag))
    payment = stack.create_payment(f"payment-{tag}", amount=1234, asset="EUR/2")
    return Run({"payment": payment, "wallet": wallet}, done=lambda: stack.wallet_balance(wallet, "EUR/2") == 1234)


def payout(stack: FakeStack, tag: str) -> Run:
    ledger = _ledger(stack, tag)
    connected = f"acct_{tag}"
    wallet = stack.create_wallet(f"payout-{tag}", ledger, {"stripeAccount": connected})
    stack.fund(ledger, balance_account(wallet), "USD/2", 1500)
    return Run(
        {"wallet": wallet, "amount": "1500"},
        done=lambda: stack.wallet_balance(wallet, "USD/2") == 0
        and [t["destinationAccountID"] for t in stack.transfer_initiations()].count(connected) == 1,
    )


def tag_account(stack: FakeStack, tag: str) -> Run:
    ledger = _ledger(stack, tag)
    return Run(
        {"ledger": ledger, "account": "merchants:7", "tier": "gold"},
        done=lambda: stack.account_metadata(ledger, "merchants:7") == {"tier": "gold", "reviewed": "true"},
    )


RUNS: dict[str, Setup] = {
    "pause.yaml": pause,
    "ledger-transfer.yaml": ledger_transfer,
    "escrow.yaml": escrow,
    "cross-ledger.yaml": cross_ledger,
    "top-up-wallet.yaml": top_up_wallet,
    "payin-to-wallet.yaml": payin_to_wallet,
    "payout.yaml": payout,
    "tag-account.yaml": tag_account,
}


def test_every_example_has_a_run() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*")) == sorted(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_example_runs_to_its_end(name: str, cli: Cli, fake_stack: FakeStack) -> None:
    run = RUNS[name](fake_stack, uuid.uuid4().hex[:8])
    workflow = cli.json("workflows", "create", str(EXAMPLES / name))
    variables = [option for key, value in run.variables.items() for option in ("--variable", f"{key}={value}")]
    instance = cli.json("workflows", "run", workflow["id"], *variables)
    for event in run.events:
        cli.ok("instances", "send-event", instance["id"], event)
    ended = cli.json("instances", "show", instance["id"], "--watch", "--interval", "0.02")
    assert ended["terminated"] and "error" not in ended, ended.get("error")
    assert run.done()
