"""Money movement against the fake Formance gateway (spec §6.4, §6.5, §7, §8, §10.2, §17.5):
balances, recorded requests, idempotency and stage history as the API shows them. How the
engine retries, aborts and logs calls is tested in-process: tests/engine/test_retry.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.helpers import create_workflow, get_instance, run, wait_stage, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.server import ServerProcess, eventually

T = "2024-05-02T10:11:12.123456Z"


@pytest.fixture
def client(money_server: ServerProcess) -> httpx.Client:
    return money_server.client()


def _send(
    source: dict[str, Any], destination: dict[str, Any], amount: Any = 100, asset: str = "USD/2", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"source": source, "destination": destination, **extra}
    if amount is not None:
        body["amount"] = {"amount": amount, "asset": asset}
    return {"send": body}


def _account(id_: str, ledger: str) -> dict[str, Any]:
    return {"account": {"id": id_, "ledger": ledger}}


def _transactions_path(ledger: str) -> str:
    return f"/api/ledger/v2/{ledger}/transactions"


def _stage_history(client: httpx.Client, instance_id: str, stage: int = 0) -> list[dict[str, Any]]:
    res = client.get(f"/instances/{instance_id}/stages/{stage}/history")
    assert res.status_code == 200, res.text
    data: list[dict[str, Any]] = res.json()["data"]
    return data


NO_BRIDGE = {"throughAccount": "world", "allowOverdraft": False}  # how history shows an account's defaults


def test_ledger_happy_path_posts_once_and_shows_its_history(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    wf = create_workflow(
        client,
        [
            _send(
                _account("world", ledger),
                _account("bank", ledger),
                100,
                "EUR/2",
                metadata={"foo": "${userID}"},
                timestamp="${timestamp}",
            )
        ],
    )
    done = run(client, wf, {"userID": "bar", "timestamp": T}, wait="true")
    assert done["terminated"] and "error" not in done and len(done["status"]) == 1
    calls = fake_stack.requests("POST", _transactions_path(ledger))
    assert len(calls) == 1
    assert calls[0].idempotency_key == f"{done['id']}-0-0"
    assert calls[0].headers["authorization"].startswith("Bearer ")
    assert calls[0].json == {
        "metadata": {"foo": "bar"},
        "postings": [{"amount": 100, "asset": "EUR/2", "destination": "bank", "source": "world"}],
        "timestamp": T,
    }
    assert fake_stack.balance(ledger, "bank", "EUR/2") == 100
    history = client.get(f"/instances/{done['id']}/history").json()["data"]
    assert history[0]["name"] == "RunSend" and history[0]["terminated"] is True
    assert history[0]["input"] == {
        "source": {"account": {"id": "world", "ledger": ledger, **NO_BRIDGE}},
        "destination": {"account": {"id": "bank", "ledger": ledger, **NO_BRIDGE}},
        "amount": {"amount": 100, "asset": "EUR/2"},
        "metadata": {"foo": "bar"},
        "timestamp": T,
    }
    [activity] = _stage_history(client, done["id"])
    assert activity["name"] == "CreateTransaction" and activity["attempt"] == 1 and activity["terminated"] is True
    assert not {"error", "lastFailure", "nextExecution"} & activity.keys()
    assert activity["input"] == {"CreateTransaction": {"Ledger": ledger, "Data": calls[0].json}}
    [posted] = activity["output"]["CreateTransaction"]["data"]
    assert posted["txid"] == posted["id"] == fake_stack.transactions(ledger)[0]["id"]


def test_insufficient_funds_fails_at_once_and_posts_nothing(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    wf = create_workflow(client, [_send(_account("empty:account", ledger), _account("bank", ledger))])
    done = run(client, wf, wait="true")
    assert "insufficient funds" in done["error"] and done["status"][0]["error"] == done["error"]
    assert len(fake_stack.requests("POST", _transactions_path(ledger))) == 1  # not retried
    assert fake_stack.transactions(ledger) == [] and fake_stack.balance(ledger, "bank", "USD/2") == 0
    [activity] = _stage_history(client, done["id"])
    assert activity["error"] == done["error"] and activity["terminated"] is True


def test_a_validation_error_is_not_retried(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    wf = create_workflow(client, [_send(_account("world", ledger), _account("bank", ledger), amount=-1)])
    done = run(client, wf, wait="true")
    assert done["error"] and len(fake_stack.requests("POST", _transactions_path(ledger))) == 1


def test_a_pending_activity_shows_its_attempt_last_failure_and_next_execution(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    fake_stack.fail_next("POST", _transactions_path(ledger), times=1, status=503, message="first try failed")
    hold = fake_stack.hold("POST", _transactions_path(ledger))
    wf = create_workflow(client, [_send(_account("world", ledger), _account("bank", ledger))])
    inst = run(client, wf)["id"]
    assert hold.wait_arrived(timeout=30)
    [pending] = _stage_history(client, inst)
    assert pending["terminated"] is False and pending["attempt"] == 2
    assert pending["lastFailure"] == "first try failed" and "nextExecution" in pending
    assert not {"output", "error", "terminatedAt"} & pending.keys()
    hold.release()
    assert "error" not in wait_terminated(client, inst)
    [finished] = _stage_history(client, inst)
    assert finished["terminated"] is True and "lastFailure" not in finished and "nextExecution" not in finished


def test_amounts_beyond_2_pow_53_stay_exact(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    huge = 2**80 + 7
    wf = create_workflow(client, [_send(_account("world", ledger), _account("bank", ledger), amount="${amount}")])
    done = run(client, wf, {"amount": str(huge)}, wait="true")
    assert "error" not in done
    assert fake_stack.balance(ledger, "bank", "USD/2") == huge
    assert fake_stack.requests("POST", _transactions_path(ledger))[0].json["postings"][0]["amount"] == huge


def test_token_is_renewed_when_the_gateway_forgets_it(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    wf = create_workflow(client, [_send(_account("world", ledger), _account("bank", ledger))])
    run(client, wf, wait="true")
    fake_stack.expire_tokens()
    done = run(client, wf, wait="true")
    assert "error" not in done and fake_stack.balance(ledger, "bank", "USD/2") == 200
    assert all(
        r.headers.get("authorization", "").startswith("Bearer ")
        for r in fake_stack.requests("POST", _transactions_path(ledger))
    )


def test_update_sets_account_metadata(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    wf = create_workflow(
        client,
        [
            {
                "update": {
                    "account": {
                        "id": "merchant:${merchantID}",
                        "ledger": ledger,
                        "metadata": {"formanceAccountID": "${paymentAccountID}"},
                    }
                }
            }
        ],
    )
    done = run(client, wf, {"merchantID": "1234", "paymentAccountID": "ABCD"}, wait="true")
    assert "error" not in done
    assert fake_stack.account_metadata(ledger, "merchant:1234") == {"formanceAccountID": "ABCD"}
    [call] = fake_stack.requests("POST", f"/api/ledger/v2/{ledger}/accounts/merchant:1234/metadata")
    assert call.json == {"formanceAccountID": "ABCD"} and call.idempotency_key
    [activity] = _stage_history(client, done["id"])
    assert activity["input"] == {
        "AddAccountMetadata": {"ledger": ledger, "account": "merchant:1234", "metadata": {"formanceAccountID": "ABCD"}}
    }
    assert "output" not in activity


def test_cross_ledger_second_leg_failure_says_which_leg_succeeded(
    client: httpx.Client, fake_stack: FakeStack, ledger: str
) -> None:
    other = f"{ledger}-b"
    fake_stack.create_ledger(other)
    fake_stack.fund(ledger, "foo", "USD/2", 100)
    fake_stack.fail_next("POST", _transactions_path(other), times=1, status=400, code="VALIDATION", message="bad")
    wf = create_workflow(client, [_send(_account("foo", ledger), _account("bar", other))])
    done = run(client, wf, wait="true")
    assert done["error"].startswith(f"moved 100 USD/2 from foo@{ledger} to world@{ledger}")
    assert done["error"].endswith("failed: bad")
    assert fake_stack.balance(ledger, "foo", "USD/2") == 0 and fake_stack.balance(other, "bar", "USD/2") == 0


def test_stage_checks_fail_before_anything_is_sent(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    before = len(fake_stack.requests())
    cases = [
        (_send(_account("a", ledger), _account("b", ledger), amount=None), "amount must be specified"),
        (_send({"account": {"id": "a"}, "wallet": {"id": "w"}}, _account("b", ledger)), "wallet or account or payment"),
        (
            _send({"payment": {"id": "p"}}, {"payment": {"psp": "stripe"}}),
            "send from payment to payment is not supported",
        ),
        (_send(_account("a", ledger), _account("b", ledger), amount="${x}"), "unable to parse '1.5' as big int"),
    ]
    for stage, message in cases:
        done = run(client, create_workflow(client, [stage]), {"x": "1.5"}, wait="true")
        assert message in done["error"], done
    assert len(fake_stack.requests()) == before


@pytest.mark.parametrize(
    "stage",
    [
        {"send": {"destination": {"account": {"id": "b"}}}},
        {
            "send": {
                "source": {"account": {"id": "a"}},
                "destination": {"account": {"id": "b"}},
                "amount": {"amount": 1.5},
            }
        },
        {"send": {"source": "x", "destination": {}}},
    ],
)
def test_malformed_send_is_refused_at_creation(client: httpx.Client, stage: dict[str, Any]) -> None:
    res = client.post("/workflows", json={"stages": [stage]})
    assert res.status_code == 400 and res.json()["errorCode"] == "VALIDATION", res.text


def test_unknown_wallet_name_fails_the_stage(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    fake_stack.fund(ledger, "alice", "USD/2", 100)
    wf = create_workflow(client, [_send(_account("alice", ledger), {"wallet": {"name": f"nobody-{ledger}"}})])
    assert run(client, wf, wait="true")["error"] == "wallet not found"
    assert fake_stack.balance(ledger, "alice", "USD/2") == 100


def test_wait_event_between_two_sends(client: httpx.Client, fake_stack: FakeStack, ledger: str) -> None:
    wf = create_workflow(
        client,
        [
            _send(_account("world", ledger), _account("tmp", ledger)),
            {"wait_event": {"event": "processed"}},
            _send(_account("tmp", ledger), _account("user", ledger)),
        ],
    )
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 1)
    assert fake_stack.balance(ledger, "tmp", "USD/2") == 100
    client.post(f"/instances/{inst}/events", json={"name": "processed"})
    assert "error" not in wait_terminated(client, inst)
    assert fake_stack.balance(ledger, "user", "USD/2") == 100 and fake_stack.balance(ledger, "tmp", "USD/2") == 0
    eventually(lambda: get_instance(client, inst)["status"], lambda s: len(s) == 3)
