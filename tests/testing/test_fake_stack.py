"""The fake Formance gateway, exercised over real HTTP with httpx."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.testing.fake_stack import FakeStack
from tests.testing.waiting import eventually

TOKEN = "/api/auth/oauth/token"
NO_FUNDS = "running numscript: script execution failed: account(s) @{} had/have insufficient funds"


def get_token(stack: FakeStack, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_id": "orchestration", "client_secret": "secret",
            "scope": "ledger:read ledger:write", **form}
    return httpx.post(stack.url + TOKEN, data=data)


def authed(stack: FakeStack, timeout: float = 5.0) -> httpx.Client:
    token = get_token(stack).json()["access_token"]
    return httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def tx(source: str, destination: str, amount: object, asset: str = "EUR/2", **extra: Any) -> dict[str, Any]:
    return {"postings": [{"source": source, "destination": destination, "amount": amount, "asset": asset}], **extra}


def credit_body(amount: int, *, sources: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"amount": {"amount": amount, "asset": "USD/2"}, "balance": "main", **extra}
    if sources is not None:
        body["sources"] = sources
    return body


@pytest.fixture(autouse=True)
def _fresh_log(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        s: FakeStack = request.getfixturevalue("stack")
        s.clear_faults()
        s.clear_requests()


# -- Ledger ----------------------------------------------------------------------------------------------------


def test_transfers_move_balances_and_answer_like_ledger_v2(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    first = http.post(f"/api/ledger/v2/{ledger}/transactions",
                      json=tx("world", "alice", 100, metadata={"foo": "bar"}, timestamp="2024-05-02T10:11:12.123456Z"))
    assert first.status_code == 200
    data = first.json()["data"]
    assert data["id"] == 0 and data["reverted"] is False and data["metadata"] == {"foo": "bar"}
    assert data["timestamp"] == "2024-05-02T10:11:12.123456Z"
    assert data["postings"] == [{"source": "world", "destination": "alice", "amount": 100, "asset": "EUR/2"}]
    second = http.post(f"/api/ledger/v2/{ledger}/transactions", json=tx("alice", "bob", 30))
    assert second.json()["data"]["id"] == 1
    assert (stack.balance(ledger, "alice", "EUR/2"), stack.balance(ledger, "bob", "EUR/2")) == (70, 30)
    assert stack.balance(ledger, "world", "EUR/2") == -100  # world is unbounded
    assert [t["id"] for t in stack.transactions(ledger)] == [0, 1]


def test_postings_of_one_transaction_apply_in_order(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    body = {"postings": [{"source": "world", "destination": "a", "amount": 10, "asset": "USD"},
                         {"source": "a", "destination": "b", "amount": 10, "asset": "USD"}]}
    assert http.post(f"/api/ledger/v2/{ledger}/transactions", json=body).status_code == 200
    assert stack.balance(ledger, "b", "USD") == 10


def test_insufficient_funds_fail_the_whole_transaction(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    stack.fund(ledger, "alice", "EUR/2", 50)
    body = {"postings": [{"source": "alice", "destination": "bob", "amount": 40, "asset": "EUR/2"},
                         {"source": "alice", "destination": "carol", "amount": 20, "asset": "EUR/2"}]}
    r = http.post(f"/api/ledger/v2/{ledger}/transactions", json=body)
    assert r.status_code == 400
    assert r.json() == {"errorCode": "INSUFFICIENT_FUND", "errorMessage": NO_FUNDS.format("alice")}
    assert stack.balance(ledger, "alice", "EUR/2") == 50 and stack.balance(ledger, "bob", "EUR/2") == 0
    assert len(stack.transactions(ledger)) == 1  # only the funding


def test_amounts_beyond_2_pow_53_stay_exact(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    big = 2**80 + 1
    r = http.post(f"/api/ledger/v2/{ledger}/transactions", json=tx("world", "whale", big))
    assert json.loads(r.text)["data"]["postings"][0]["amount"] == big
    assert str(big) in r.text
    assert stack.balance(ledger, "whale", "EUR/2") == big
    v1 = http.get(f"/api/ledger/{ledger}/accounts/whale").json()["data"]
    assert v1["balances"] == {"EUR/2": big}


@pytest.mark.parametrize(("body", "status", "code"), [
    (tx("world", "bank", -1), 400, "VALIDATION"),
    (tx("world", "bank", "100"), 400, "VALIDATION"),  # a big.Int only decodes from a JSON integer
    (tx("world", "bad address", 1), 400, "VALIDATION"),
    (tx("world", "bank", 1, asset="eur"), 400, "VALIDATION"),
    (tx("world", "bank", 1, timestamp="yesterday"), 400, "VALIDATION"),
    ({"postings": []}, 400, "NO_POSTINGS"),
])
def test_invalid_transactions_are_rejected(stack: FakeStack, http: httpx.Client, ledger: str,
                                           body: dict[str, Any], status: int, code: str) -> None:
    r = http.post(f"/api/ledger/v2/{ledger}/transactions", json=body)
    assert (r.status_code, r.json()["errorCode"]) == (status, code)
    assert stack.transactions(ledger) == []


def test_negative_amount_message(http: httpx.Client, ledger: str) -> None:
    r = http.post(f"/api/ledger/v2/{ledger}/transactions", json=tx("world", "bank", -1))
    assert r.json()["errorMessage"] == "invalid posting 0: negative amount"


def test_unknown_ledger_is_ledger_not_found(http: httpx.Client) -> None:
    for r in (http.post("/api/ledger/v2/nope/transactions", json=tx("world", "bank", 1)),
              http.post("/api/ledger/v2/nope/accounts/bank/metadata", json={"a": "b"}),
              http.get("/api/ledger/nope/accounts/bank")):
        assert r.status_code == 404 and r.json()["errorCode"] == "LEDGER_NOT_FOUND"


def test_duplicate_reference_is_a_conflict(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    body = tx("world", "payment:p1", 100, reference="payment:p1")
    assert http.post(f"/api/ledger/v2/{ledger}/transactions", json=body).status_code == 200
    again = http.post(f"/api/ledger/v2/{ledger}/transactions", json=body)
    assert again.status_code == 409
    assert again.json() == {"errorCode": "CONFLICT", "errorMessage": 'duplicate reference "payment:p1"'}
    assert stack.balance(ledger, "payment:p1", "EUR/2") == 100


def test_same_idempotency_key_replays_the_answer_without_a_second_posting(
        stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url, headers = f"/api/ledger/v2/{ledger}/transactions", {"Idempotency-Key": "inst-0-0"}
    first = http.post(url, json=tx("world", "bank", 100), headers=headers)
    second = http.post(url, json=tx("world", "bank", 100), headers=headers)
    assert second.status_code == 200 and second.json() == first.json()
    assert second.headers["Idempotency-Hit"] == "true"
    assert len(stack.transactions(ledger)) == 1 and stack.balance(ledger, "bank", "EUR/2") == 100
    other = http.post(url, json=tx("world", "bank", 101), headers=headers)
    assert other.status_code == 400 and other.json()["errorCode"] == "VALIDATION"
    assert "invalid idempotency hash" in other.json()["errorMessage"]


def test_a_failed_attempt_does_not_burn_its_idempotency_key(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url, headers = f"/api/ledger/v2/{ledger}/transactions", {"Idempotency-Key": "k"}
    assert http.post(url, json=tx("alice", "bob", 10), headers=headers).status_code == 400
    stack.fund(ledger, "alice", "EUR/2", 10)
    assert http.post(url, json=tx("alice", "bob", 10), headers=headers).status_code == 200
    assert stack.balance(ledger, "bob", "EUR/2") == 10


def test_account_metadata_and_account_reads(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/accounts/merchant:1234/metadata"
    for _ in range(2):
        r = http.post(url, json={"formanceAccountID": "ABCD"}, headers={"Idempotency-Key": "m"})
        assert r.status_code == 204 and r.content == b""
    assert stack.account_metadata(ledger, "merchant:1234") == {"formanceAccountID": "ABCD"}
    assert http.post(url, json={"n": 1}).json()["errorCode"] == "VALIDATION"  # values must be strings
    v2 = http.get(f"/api/ledger/v2/{ledger}/accounts/merchant:1234").json()["data"]
    assert v2["address"] == "merchant:1234" and v2["metadata"] == {"formanceAccountID": "ABCD"}
    missing = http.get(f"/api/ledger/v2/{ledger}/accounts/ghost")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "NOT_FOUND"
    stack.fund(ledger, "merchant:1234", "USD", 5)
    v1 = http.get(f"/api/ledger/{ledger}/accounts/merchant:1234").json()["data"]
    assert v1["metadata"] == {"formanceAccountID": "ABCD"} and v1["balances"] == {"USD": 5}
    ghost = http.get(f"/api/ledger/{ledger}/accounts/ghost")  # v1 answers an empty account, not 404
    assert ghost.status_code == 200 and ghost.json()["data"]["metadata"] == {}


# -- OAuth -----------------------------------------------------------------------------------------------------


def test_calls_without_a_valid_token_get_401(stack: FakeStack, ledger: str) -> None:
    url = f"{stack.url}/api/ledger/{ledger}/accounts/bank"
    for headers in ({}, {"Authorization": "Bearer forged.token.x"}, {"Authorization": "Basic eDp5"}):
        r = httpx.get(url, headers=headers)
        assert (r.status_code, r.text) == (401, "Unauthorized\n")


def test_token_endpoint_checks_the_client(stack: FakeStack) -> None:
    ok = get_token(stack)
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3600
    assert ok.json()["access_token"].count(".") == 2  # JWT-shaped
    assert get_token(stack, client_secret="wrong").json()["error"] == "invalid_client"
    assert get_token(stack, grant_type="password").status_code == 400
    basic = httpx.post(stack.url + TOKEN, data={"grant_type": "client_credentials"},
                       auth=("orchestration", "secret"))
    assert basic.status_code == 200


def test_expired_tokens_are_refused_until_a_new_one_is_fetched(stack: FakeStack, ledger: str) -> None:
    issued = stack.tokens_issued
    with authed(stack) as client:
        assert client.get(f"/api/ledger/{ledger}/accounts/bank").status_code == 200
        stack.expire_tokens()
        assert client.get(f"/api/ledger/{ledger}/accounts/bank").status_code == 401
    with authed(stack) as client:
        assert client.get(f"/api/ledger/{ledger}/accounts/bank").status_code == 200
    assert stack.tokens_issued == issued + 2


def test_tokens_expire_after_their_ttl() -> None:
    with FakeStack(token_ttl=0) as s:  # expired as soon as issued: no sleeping
        s.create_ledger("default")
        with authed(s) as client:
            assert client.get("/api/ledger/default/accounts/bank").status_code == 401


def test_no_client_id_means_no_auth() -> None:
    with FakeStack(client_id=None) as s:
        s.create_ledger("default")
        assert httpx.get(f"{s.url}/api/ledger/default/accounts/bank").status_code == 200


# -- Wallets ---------------------------------------------------------------------------------------------------


def test_wallet_credit_and_debit_move_ledger_balances(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    wid = stack.create_wallet("user:1", ledger)
    account = "wallets:" + wid.replace("-", "") + ":main"  # how Wallets names the balance account
    assert http.post(f"/api/wallets/wallets/{wid}/credit", json=credit_body(100)).status_code == 204
    assert stack.wallet_balance(wid, "USD/2") == 100 == stack.balance(ledger, account, "USD/2")
    assert stack.balance(ledger, "world", "USD/2") == -100
    debit = {"amount": {"amount": 30, "asset": "USD/2"}, "balances": ["main"],
             "destination": {"type": "ACCOUNT", "identifier": "bank"}, "metadata": None}
    assert http.post(f"/api/wallets/wallets/{wid}/debit", json=debit).status_code == 204
    assert (stack.wallet_balance(wid, "USD/2"), stack.balance(ledger, "bank", "USD/2")) == (70, 30)
    too_much = http.post(f"/api/wallets/wallets/{wid}/debit", json={"amount": {"amount": 71, "asset": "USD/2"}})
    assert too_much.status_code == 400
    assert too_much.json() == {"errorCode": "INSUFFICIENT_FUND", "errorMessage": "insufficient fund"}
    assert stack.wallet_balance(wid, "USD/2") == 70
    to_world = {"amount": {"amount": 70, "asset": "USD/2"}, "metadata": {"k": "v"}}
    assert http.post(f"/api/wallets/wallets/{wid}/debit", json=to_world).status_code == 204
    last = stack.transactions(ledger)[-1]
    assert last["postings"] == [{"source": account, "destination": "world", "amount": 70, "asset": "USD/2"}]
    assert last["metadata"] == {"wallets/transaction": "true", "wallets/custom_data_k": "v"}


def test_wallet_credit_from_an_account_needs_funds_there(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    wid = stack.create_wallet("w", ledger)
    body = credit_body(40, sources=[{"type": "ACCOUNT", "identifier": "alice"}])
    failed = http.post(f"/api/wallets/wallets/{wid}/credit", json=body)
    assert failed.status_code == 500 and failed.json()["errorCode"] == "INTERNAL_ERROR"
    stack.fund(ledger, "alice", "USD/2", 40)
    assert http.post(f"/api/wallets/wallets/{wid}/credit", json=body).status_code == 204
    assert (stack.balance(ledger, "alice", "USD/2"), stack.wallet_balance(wid, "USD/2")) == (0, 40)


def test_wallet_to_wallet_credit_and_idempotency(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    src, dst = stack.create_wallet("src", ledger), stack.create_wallet("dst", ledger)
    http.post(f"/api/wallets/wallets/{src}/credit", json=credit_body(50))
    body = credit_body(20, sources=[{"type": "WALLET", "identifier": src, "balance": "main"}])
    for _ in range(2):
        r = http.post(f"/api/wallets/wallets/{dst}/credit", json=body, headers={"Idempotency-Key": "w2w"})
        assert r.status_code == 204
    assert (stack.wallet_balance(src, "USD/2"), stack.wallet_balance(dst, "USD/2")) == (30, 20)
    assert len(stack.transactions(ledger)) == 2


def test_credit_to_a_missing_balance_is_a_validation_error(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    wid = stack.create_wallet("w", ledger)
    r = http.post(f"/api/wallets/wallets/{wid}/credit", json=credit_body(1, balance="savings"))
    assert r.json() == {"errorCode": "VALIDATION", "errorMessage": "balance not exists"}
    stack.create_balance(wid, "savings")
    assert http.post(f"/api/wallets/wallets/{wid}/credit", json=credit_body(1, balance="savings")).status_code == 204
    assert stack.wallet_balance(wid, "USD/2", "savings") == 1


def test_get_and_list_wallets(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    name = f"user:{uuid.uuid4().hex[:6]}"
    wid = stack.create_wallet(name, ledger, {"stripeConnectID": "abcd"})
    stack.create_wallet(name, ledger)
    http.post(f"/api/wallets/wallets/{wid}/credit", json=credit_body(7))
    got = http.get(f"/api/wallets/wallets/{wid}").json()["data"]
    assert {k: got[k] for k in ("id", "name", "ledger", "metadata")} == {
        "id": wid, "name": name, "ledger": ledger, "metadata": {"stripeConnectID": "abcd"}}
    assert got["balances"]["main"]["assets"] == {"USD/2": 7}
    unknown = http.get("/api/wallets/wallets/nope")
    assert (unknown.status_code, unknown.content) == (404, b"")
    listed = http.get("/api/wallets/wallets", params={"name": name, "pageSize": 1}).json()["cursor"]
    assert len(listed["data"]) == 1 and listed["hasMore"] is True and listed["pageSize"] == 1
    rest = http.get("/api/wallets/wallets", params={"cursor": listed["next"]}).json()["cursor"]
    assert len(rest["data"]) == 1 and rest["hasMore"] is False
    by_meta = http.get("/api/wallets/wallets", params={"name": name, "metadata[stripeConnectID]": "abcd"})
    assert [w["id"] for w in by_meta.json()["cursor"]["data"]] == [wid]


# -- Payments --------------------------------------------------------------------------------------------------


def test_payments_get_and_transfer_initiations(stack: FakeStack, http: httpx.Client) -> None:
    pid = stack.create_payment(f"pay-{uuid.uuid4().hex[:6]}", amount=2**70, asset="USD/2")
    got = http.get(f"/api/payments/payments/{pid}").json()["data"]
    assert (got["id"], got["initialAmount"], got["asset"], got["status"]) == (pid, 2**70, "USD/2", "SUCCEEDED")
    assert http.get("/api/payments/payments/missing").json()["errorCode"] == "NOT_FOUND"
    body = {"amount": 100, "asset": "USD", "description": "Stripe Transfer", "destinationAccountID": "abcd",
            "provider": "STRIPE", "reference": f"ref-{pid}", "scheduledAt": "0001-01-01T00:00:00Z",
            "sourceAccountID": "", "type": "TRANSFER", "validated": True}
    created = http.post("/api/payments/transfer-initiations", json=body)
    assert created.status_code == 200 and created.json()["data"]["reference"] == body["reference"]
    assert stack.transfer_initiations()[-1] == body
    again = http.post("/api/payments/transfer-initiations", json=body)
    assert (again.status_code, again.json()["errorCode"]) == (400, "CONFLICT")
    no_ref = http.post("/api/payments/transfer-initiations", json={**body, "reference": ""})
    assert no_ref.json() == {"errorCode": "VALIDATION", "errorMessage": "reference is required"}


# -- Faults ----------------------------------------------------------------------------------------------------


def test_fail_next_is_consumed_once_and_writes_nothing(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/transactions"
    stack.fail_next("POST", url)
    failed = http.post(url, json=tx("world", "bank", 1))
    assert failed.status_code == 503 and failed.json()["errorCode"] == "INTERNAL"
    assert stack.transactions(ledger) == []
    assert http.post(url, json=tx("world", "bank", 1)).status_code == 200


def test_faults_are_per_route_and_in_order(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    stack.fail_next("POST", r"/api/ledger/v2/[^/]+/transactions", times=2, status=429, code="TOO_MANY")
    stack.fail_next("POST", r"/api/ledger/v2/.*", status=400, code="INSUFFICIENT_FUND", message="nope")
    assert http.get(f"/api/ledger/{ledger}/accounts/x").status_code == 200  # another route: untouched
    url = f"/api/ledger/v2/{ledger}/transactions"
    statuses = [http.post(url, json=tx("world", "bank", 1)).status_code for _ in range(4)]
    assert statuses == [429, 429, 400, 200]


def test_a_fault_can_last_and_can_hit_the_token_endpoint(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/transactions"
    stack.fail_next("POST", url, times=None, status=400, code="INSUFFICIENT_FUND", message=NO_FUNDS.format("x"))
    assert {http.post(url, json=tx("world", "bank", 1)).status_code for _ in range(3)} == {400}
    stack.clear_faults()
    assert http.post(url, json=tx("world", "bank", 1)).status_code == 200
    stack.fail_next("POST", TOKEN, code=None, message="upstream down")
    down = get_token(stack)
    assert (down.status_code, down.text) == (503, "upstream down")
    assert get_token(stack).status_code == 200


def test_wallet_retry_with_the_same_key_succeeds_after_the_source_was_drained(
        stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    wid = stack.create_wallet("w", ledger)
    stack.fund(ledger, "alice", "USD/2", 10)
    body, key = credit_body(10, sources=[{"type": "ACCOUNT", "identifier": "alice"}]), {"Idempotency-Key": "c"}
    assert http.post(f"/api/wallets/wallets/{wid}/credit", json=body, headers=key).status_code == 204
    replay = http.post(f"/api/wallets/wallets/{wid}/credit", json=body, headers=key)
    assert replay.status_code == 204 and "Idempotency-Hit" not in replay.headers
    assert stack.wallet_balance(wid, "USD/2") == 10


def test_hang_next_delays_the_answer(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/transactions"
    stack.hang_next("POST", url, 0.1)
    started = time.monotonic()
    assert http.post(url, json=tx("world", "bank", 1)).status_code == 200
    assert time.monotonic() - started >= 0.1


def test_hang_next_exceeds_a_client_timeout(stack: FakeStack, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/transactions"
    stack.hang_next("POST", url, 0.15)
    with authed(stack, timeout=0.05) as client, pytest.raises(httpx.ReadTimeout):
        client.post(url, json=tx("world", "bank", 1), headers={"Idempotency-Key": "slow"})
    # The hung request is still processed once the delay is over, as a slow server would.
    eventually(lambda: stack.balance(ledger, "bank", "EUR/2"), lambda balance: balance == 1, what="the balance")


def test_hold_posts_but_withholds_the_answer_until_released(stack: FakeStack, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/transactions"
    hold = stack.hold("POST", url)
    with authed(stack) as client, ThreadPoolExecutor(1) as pool:
        pending: Future[httpx.Response] = pool.submit(
            client.post, url, json=tx("world", "bank", 5), headers={"Idempotency-Key": "held"})
        assert hold.wait_arrived(10)
        assert stack.balance(ledger, "bank", "EUR/2") == 5  # the posting IS made
        assert not pending.done()
        assert hold.request is not None and hold.request.idempotency_key == "held"
        # A retry with the same key (e.g. after the caller restarted) gets the same transaction, no new posting.
        retry = client.post(url, json=tx("world", "bank", 5), headers={"Idempotency-Key": "held"})
        hold.release()
        answer = pending.result(10)
    assert answer.status_code == 200 and answer.json() == retry.json()
    assert len(stack.transactions(ledger)) == 1


def test_stop_lets_held_requests_go() -> None:
    with FakeStack(client_id=None) as s:
        s.create_ledger("default")
        hold = s.hold("POST", "/api/ledger/v2/default/transactions")
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(httpx.post, f"{s.url}/api/ledger/v2/default/transactions",
                                  json=tx("world", "bank", 1), timeout=5)
            assert hold.wait_arrived(10)
            s.stop()
            assert pending.result(10).status_code == 200  # answered, not cut off by the stop


def test_restart_keeps_state_and_port() -> None:
    s = FakeStack(client_id=None).start()
    try:
        s.create_ledger("default")
        url = s.url
        httpx.post(f"{url}/api/ledger/v2/default/transactions", json=tx("world", "bank", 3))
        s.stop()
        s.start()
        assert s.url == url
        assert httpx.get(f"{url}/api/ledger/default/accounts/bank").json()["data"]["balances"] == {"EUR/2": 3}
    finally:
        s.stop()


# -- Request log and resources ---------------------------------------------------------------------------------


def test_request_log_records_headers_bodies_and_status(stack: FakeStack, http: httpx.Client, ledger: str) -> None:
    url = f"/api/ledger/v2/{ledger}/transactions"
    http.post(url, params={"dryRun": "false"}, json=tx("world", "bank", 2**60), headers={"Idempotency-Key": "i-0-0"})
    http.get(f"/api/ledger/{ledger}/accounts/bank")
    [rec] = stack.requests("POST", r"/api/ledger/v2/.*/transactions")
    assert (rec.method, rec.path, rec.query, rec.status) == ("POST", url, {"dryRun": ["false"]}, 200)
    assert rec.idempotency_key == "i-0-0" and rec.authorization == http.headers["Authorization"]
    assert rec.json == tx("world", "bank", 2**60)
    assert [r.method for r in stack.requests(path_pattern="/api/ledger/.*")] == ["POST", "GET"]
    assert stack.requests("POST", TOKEN)[0].json is None  # a form, not JSON
    stack.clear_requests()
    assert stack.requests() == []


def test_resources_answer_get_with_a_data_envelope(stack: FakeStack, http: httpx.Client) -> None:
    stack.add_resource("/api/payments/accounts/acc1", {"name": "foo"})
    assert http.get("/api/payments/accounts/acc1").json() == {"data": {"name": "foo"}}
    assert http.get("/api/nothing/here").status_code == 404
    assert http.post("/api/wallets/holds/h1/confirm", json={}).status_code == 404  # unused by the service
