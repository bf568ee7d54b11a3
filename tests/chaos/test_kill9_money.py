"""SIGKILL the server while money moves; after a restart every move happened exactly once.

One kill serves every test: the module's `crash` fixture holds the gateway's answer to a
call of each instance (the Ledger has posted, or Payments has created the transfer; the
server never hears it), kills the server, lets the answers go, and starts it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import FAST_RETRIES
from tests.integration.helpers import create_workflow, run, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.server import ServerProcess


def _move(source: str, destination: str, ledger: str, to_ledger: str | None = None) -> dict[str, object]:
    return {
        "send": {
            "source": {"account": {"id": source, "ledger": ledger}},
            "destination": {"account": {"id": destination, "ledger": to_ledger or ledger}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }


def _posts(ledger: str) -> str:
    return f"/api/ledger/v2/{ledger}/transactions"


TRANSFERS = "/api/payments/transfer-initiations"


def _payout(ledger: str) -> dict[str, object]:
    return {
        "send": {
            "source": {"account": {"id": "merchant", "ledger": ledger}},
            "destination": {"payment": {"psp": "stripe"}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }


@dataclass
class Crash:
    server: ServerProcess
    ledgers: dict[str, str]
    """Per scenario, the ledger (or, for "two_legs", the first of two) its instance moves money on."""
    instances: dict[str, str]

    def finished(self, scenario: str) -> dict[str, Any]:
        return wait_terminated(self.server.client(), self.instances[scenario], timeout=30)


@pytest.fixture(scope="module")
def crash(
    backend: str, fake_stack: FakeStack, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crash]:
    uri = None
    if backend == "postgres":
        uri = request.getfixturevalue("postgres").create_database(f"m_{uuid.uuid4().hex[:12]}")
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"kill9-money-{backend}"),
        postgres_uri=uri,
        extra_args=[*fake_stack.server_args(), *FAST_RETRIES],
    ).start()
    suffix = uuid.uuid4().hex[:8]
    ledgers = {name: f"{name}-{suffix}" for name in ("in_flight", "two_legs", "retrying", "debited", "initiated")}
    for ledger in [*ledgers.values(), f"{ledgers['two_legs']}-b"]:
        fake_stack.create_ledger(ledger)
    fake_stack.fund(ledgers["two_legs"], "foo", "USD/2", 100)
    for payout in ("debited", "initiated"):
        fake_stack.fund(ledgers[payout], "merchant", "USD/2", 100)
        fake_stack.set_account_metadata(ledgers[payout], "merchant", {"formanceAccountID": f"acct-{ledgers[payout]}"})
    holds = [
        fake_stack.hold("POST", _posts(ledgers["in_flight"])),
        fake_stack.hold("POST", _posts(f"{ledgers['two_legs']}-b")),  # the second leg
    ]
    fake_stack.fail_next("POST", _posts(ledgers["retrying"]), times=1, status=503, message="ledger restarting")
    holds.append(fake_stack.hold("POST", _posts(ledgers["retrying"])))  # the retry
    holds.append(fake_stack.hold("POST", _posts(ledgers["debited"])))  # the payout's debit: the transfer not yet asked
    holds.append(fake_stack.hold("POST", TRANSFERS))  # the only transfer asked before the kill: "initiated"'s
    client = server.client()
    moves = {
        "in_flight": _move("world", "bank", ledgers["in_flight"]),
        "two_legs": _move("foo", "bar", ledgers["two_legs"], f"{ledgers['two_legs']}-b"),
        "retrying": _move("world", "bank", ledgers["retrying"]),
        "debited": _payout(ledgers["debited"]),
        "initiated": _payout(ledgers["initiated"]),
    }
    instances = {name: run(client, create_workflow(client, [move]))["id"] for name, move in moves.items()}
    for hold in holds:
        assert hold.wait_arrived(timeout=30)  # posted; the answer never reaches the server
    server.kill()
    for hold in holds:
        hold.release()
    server.start()
    yield Crash(server, ledgers, instances)
    server.stop()


def test_a_ledger_call_in_flight_at_the_kill_posts_once(crash: Crash, fake_stack: FakeStack) -> None:
    ledger = crash.ledgers["in_flight"]
    assert "error" not in crash.finished("in_flight")
    assert len(fake_stack.transactions(ledger)) == 1
    assert fake_stack.balance(ledger, "bank", "USD/2") == 100
    calls = fake_stack.requests("POST", _posts(ledger))
    assert len(calls) == 2 and calls[0].idempotency_key == calls[1].idempotency_key


def test_a_kill_between_the_two_legs_of_a_cross_ledger_move_moves_the_money_once(
    crash: Crash, fake_stack: FakeStack
) -> None:
    first = crash.ledgers["two_legs"]
    second = f"{first}-b"
    assert "error" not in crash.finished("two_legs")
    assert len(fake_stack.transactions(first)) == 2  # the funding and the first leg, once
    assert len(fake_stack.transactions(second)) == 1
    assert fake_stack.balance(first, "foo", "USD/2") == 0 and fake_stack.balance(second, "bar", "USD/2") == 100


def test_a_kill_while_retrying_resumes_the_retries_and_posts_once(crash: Crash, fake_stack: FakeStack) -> None:
    ledger = crash.ledgers["retrying"]
    assert "error" not in crash.finished("retrying")
    assert len(fake_stack.transactions(ledger)) == 1
    assert len({c.idempotency_key for c in fake_stack.requests("POST", _posts(ledger))}) == 1


@pytest.mark.parametrize("scenario", ["debited", "initiated"])
def test_a_payout_killed_after_its_debit_or_during_its_transfer_pays_out_once(
    crash: Crash, fake_stack: FakeStack, scenario: str
) -> None:
    # Killed once the Ledger had debited (its answer lost), or once Payments had created the transfer (its answer
    # lost, and no idempotency key on that call): one debit, one transfer, and the instance ends well.
    ledger = crash.ledgers[scenario]
    assert "error" not in crash.finished(scenario)
    assert len(fake_stack.transactions(ledger)) == 2  # the funding and the one debit
    assert fake_stack.balance(ledger, "merchant", "USD/2") == 0
    created = [t for t in fake_stack.transfer_initiations() if t["destinationAccountID"] == f"acct-{ledger}"]
    assert len(created) == 1
    asked = [r for r in fake_stack.requests("POST", TRANSFERS) if r.json["destinationAccountID"] == f"acct-{ledger}"]
    assert len({r.json["reference"] for r in asked}) == 1
    if scenario == "initiated":
        assert [r.status for r in asked] == [200, 400]  # asked again after the restart: a duplicate, which is done
