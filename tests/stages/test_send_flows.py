"""The `send` stage (spec §6.5.3): every flow's calls, one by one, with their exact inputs (§7.3).

Configs go through `resolve_stage` (the real config path), then `run_stage` against a fake context
that records each `ctx.call` and answers from a per-activity script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from orchestration.stages import ActivityFailed, StageFailure, resolve_stage, run_stage
from tests.stages.fake_context import FakeContext, transaction

IL = "orchestration-000-internal"
TO = "orchestration/move-to-ledger"
FROM = "orchestration/move-from-ledger"
Call = tuple[str, dict[str, Any]]


async def send(ctx: FakeContext, raw: Mapping[str, object], variables: Mapping[str, str] | None = None) -> None:
    await run_stage(ctx, resolve_stage("send", raw, variables or {}))


async def send_fails(ctx: FakeContext, raw: Mapping[str, object], variables: Mapping[str, str] | None = None) -> str:
    with pytest.raises(StageFailure) as failure:
        await send(ctx, raw, variables)
    return failure.value.message


# --------------------------------------------------------------------------------------------
# Config pieces, answers and expected calls


USD100 = {"amount": 100, "asset": "USD"}


def account(address: str, ledger: str | None = None, *, through: str | None = None,
            overdraft: bool | None = None) -> dict[str, object]:
    ref: dict[str, object] = {"id": address} | ({} if ledger is None else {"ledger": ledger})
    if through is not None:
        ref["throughAccount"] = through
    if overdraft is not None:
        ref["allowOverdraft"] = overdraft
    return {"account": ref}


def wallet(wallet_id: str = "", name: str = "", balance: str | None = None) -> dict[str, object]:
    ref: dict[str, str] = {"id": wallet_id, "name": name} | ({} if balance is None else {"balance": balance})
    return {"wallet": ref}


def payment(payment_id: str) -> dict[str, object]:
    return {"payment": {"id": payment_id, "psp": "test"}}  # `psp` is ignored in a source (§6.5.1)


def payout(psp: str = "stripe", **more: object) -> dict[str, object]:
    return {"payment": {"psp": psp, "metadata": "stripeConnectID"} | more}


def flow(source: object, destination: object, amount: object = USD100, **more: object) -> dict[str, object]:
    raw: dict[str, object] = {"source": source, "destination": destination} | more
    if amount is not None:
        raw["amount"] = amount
    return raw


def a_wallet(wallet_id: str, ledger: str = "default", **metadata: str) -> dict[str, object]:
    return {"id": wallet_id, "name": f"name-{wallet_id}", "ledger": ledger, "metadata": metadata}


def wallet_answer(wallet_id: str, ledger: str = "default", **metadata: str) -> dict[str, object]:
    return {"data": a_wallet(wallet_id, ledger, **metadata)}


def wallets_answer(*wallets: dict[str, object]) -> dict[str, object]:
    return {"cursor": {"pageSize": 15, "hasMore": False, "data": list(wallets)}}


def payment_answer(payment_id: str, amount: object = 100, asset: str = "USD") -> dict[str, object]:
    return {
        "data": {"id": payment_id, "initialAmount": amount, "amount": amount, "asset": asset, "status": "SUCCEEDED"}
    }


def account_answer(address: str, metadata: object) -> dict[str, object]:
    return {"data": {"address": address, "metadata": metadata}}


def failure(activity: str, message: str = "boom", code: str = "VALIDATION") -> ActivityFailed:
    return ActivityFailed(activity, code, message)


def tx(
    ledger: str,
    source: str,
    destination: str,
    money: Mapping[str, object] = USD100,
    metadata: Mapping[str, str] | None = None,
    **optional: str,
) -> Call:
    posting = {"amount": money["amount"], "asset": money["asset"], "destination": destination, "source": source}
    data: dict[str, Any] = ({"metadata": dict(metadata)} if metadata else {}) | {"postings": [posting]} | optional
    return ("CreateTransaction", {"Ledger": ledger, "Data": data})


def credit(
    wallet_id: str,
    sources: list[dict[str, str]] | None,
    metadata: Mapping[str, str] | None = None,
    balance: str = "main",
    money: Mapping[str, object] = USD100,
    **optional: str,
) -> Call:
    data: dict[str, Any] = {"amount": dict(money), "balance": balance, "metadata": dict(metadata or {})}
    if sources is not None:
        data["sources"] = sources
    return ("CreditWallet", {"id": wallet_id, "data": data | optional})


def debit(
    wallet_id: str,
    destination: dict[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
    balance: str = "main",
    money: Mapping[str, object] = USD100,
    **optional: str,
) -> Call:
    data: dict[str, Any] = {"amount": dict(money), "balances": [balance]}
    if destination is not None:
        data["destination"] = destination
    data["metadata"] = dict(metadata or {})
    return ("DebitWallet", {"id": wallet_id, "data": data | optional})


def stripe(destination: str, metadata: Mapping[str, str] | None = None, waiting: bool = False, **more: object) -> Call:
    request = {"amount": 100, "asset": "USD", "destination": destination, "metadata": dict(metadata or {})}
    return ("StripeTransfer", request | {"waitingValidation": waiting} | more)


def initiation(destination: str, psp: str = "stripe", kind: str = "TRANSFER", metadata: Mapping[str, str] | None = None,
               waiting: bool = False, **more: object) -> Call:
    """`CreateTransferInitiation` as history shows it (FLOWS-2026 §22.4)."""
    request = {"amount": 100, "asset": "USD", "provider": psp, "destination": destination, "type": kind,
               "metadata": dict(metadata or {}), "waitingValidation": waiting}
    return ("CreateTransferInitiation", request | more)


def ACCOUNT(address: str) -> dict[str, str]:  # the spec's notation
    return {"type": "ACCOUNT", "identifier": address}


def WALLET(wallet_id: str, balance: str) -> dict[str, str]:
    return {"type": "WALLET", "identifier": wallet_id, "balance": balance}


def get_wallet(wallet_id: str) -> Call:
    return ("GetWallet", {"id": wallet_id})


def list_wallets(name: str) -> Call:
    return ("ListWallets", {"name": name})


def get_payment(payment_id: str) -> Call:
    return ("GetPayment", {"id": payment_id})


def get_account(ledger: str, address: str) -> Call:
    return ("GetAccount", {"ledger": ledger, "id": address})


def import_tx(payment_id: str, money: Mapping[str, object] = USD100, **optional: Any) -> Call:
    pa = "payment:" + payment_id.replace("-", "_")
    return tx(IL, "world", pa, money, reference=pa, **optional)


# --------------------------------------------------------------------------------------------
# §6.5.3 example sequences (§17.5 #44), with m = {}


async def test_payment_to_wallet_by_id() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("payment1")], GetWallet=[wallet_answer("wallet1")])
    await send(ctx, flow(payment("payment1"), wallet("wallet1")))
    assert ctx.calls == [
        get_payment("payment1"),
        import_tx("payment1"),
        get_wallet("wallet1"),
        tx(IL, "payment:payment1", "world", metadata={TO: "default"}),
        credit("wallet1", [ACCOUNT("world")], {FROM: IL}),
    ]


async def test_payment_to_wallet_by_name() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("payment1")], ListWallets=[wallets_answer(a_wallet("wallet1"))])
    await send(ctx, flow(payment("payment1"), wallet(name="user:1")))
    assert ctx.calls == [
        get_payment("payment1"),
        import_tx("payment1"),
        list_wallets("user:1"),
        tx(IL, "payment:payment1", "world", metadata={TO: "default"}),
        credit("wallet1", [ACCOUNT("world")], {FROM: IL}),
    ]


PAYMENT_TO_ACCOUNT_CALLS = [
    get_payment("payment1"),
    import_tx("payment1"),
    tx(IL, "payment:payment1", "world", metadata={TO: "default"}),
    tx("default", "world", "foo", metadata={FROM: IL}),
]


async def test_payment_to_account() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("payment1")])
    await send(ctx, flow(payment("payment1"), account("foo")))
    assert ctx.calls == PAYMENT_TO_ACCOUNT_CALLS


async def test_payment_already_imported_conflict_is_tolerated() -> None:
    conflict = failure("CreateTransaction", "reference already used", code="CONFLICT")
    ctx = FakeContext(GetPayment=[payment_answer("payment1")], CreateTransaction=[conflict])
    await send(ctx, flow(payment("payment1"), account("foo")))
    assert ctx.calls == PAYMENT_TO_ACCOUNT_CALLS


async def test_account_to_account_same_ledger() -> None:
    ctx = FakeContext()
    await send(ctx, flow(account("foo", "default"), account("bar", "default")))
    assert ctx.calls == [tx("default", "foo", "bar")]


async def test_account_to_account_across_ledgers() -> None:  # §17.5 #42
    ctx = FakeContext()
    await send(ctx, flow(account("foo", "l1"), account("bar", "l2")))
    assert ctx.calls == [tx("l1", "foo", "world", metadata={TO: "l2"}), tx("l2", "world", "bar", metadata={FROM: "l1"})]


async def test_account_to_wallet_same_ledger() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("w1")])
    await send(ctx, flow(account("foo"), wallet("w1")))
    assert ctx.calls == [get_wallet("w1"), credit("w1", [ACCOUNT("foo")])]


async def test_account_to_wallet_across_ledgers() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("w1", "l2")])
    await send(ctx, flow(account("foo"), wallet("w1")))
    assert ctx.calls == [
        get_wallet("w1"),
        tx("default", "foo", "world", metadata={TO: "l2"}),
        credit("w1", [ACCOUNT("world")], {FROM: "default"}),
    ]


async def test_account_to_payment() -> None:  # FLOWS-2026 §21.2 F3: the debit first
    ctx = FakeContext(GetAccount=[account_answer("foo", {"stripeConnectID": "abcd"})])
    await send(ctx, flow(account("foo"), payout()))
    assert ctx.calls == [get_account("default", "foo"), tx("default", "foo", "world"), initiation("abcd")]


async def test_wallet_to_account_same_ledger() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("foo")])
    await send(ctx, flow(wallet("foo"), account("bar")))
    # Q-17 fixed: metadata `{}`, not null, when the stage has none.
    assert ctx.calls == [get_wallet("foo"), debit("foo", ACCOUNT("bar"), {})]


async def test_wallet_to_account_across_ledgers() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("foo", "l1")])
    await send(ctx, flow(wallet("foo"), account("bar", "l2")))
    assert ctx.calls == [
        get_wallet("foo"),
        debit("foo", None, {TO: "l2"}),
        tx("l2", "world", "bar", metadata={FROM: "l1"}),
    ]


async def test_wallet_to_wallet_same_ledger() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("foo"), wallet_answer("bar")])
    await send(ctx, flow(wallet("foo"), wallet("bar")))
    assert ctx.calls == [get_wallet("foo"), get_wallet("bar"), credit("bar", [WALLET("foo", "main")])]


async def test_wallet_to_wallet_across_ledgers() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("wallet1", "ledger1"), wallet_answer("wallet2", "ledger2")])
    await send(ctx, flow(wallet("wallet1"), wallet("wallet2")))
    assert ctx.calls == [
        get_wallet("wallet1"),
        get_wallet("wallet2"),
        debit("wallet1", None, {TO: "ledger2"}),
        credit("wallet2", None, {FROM: "ledger1"}),  # no sources: Wallets credits from world
    ]


async def test_wallet_to_payment() -> None:  # FLOWS-2026 §21.2 F5: the debit first
    ctx = FakeContext(GetWallet=[wallet_answer("foo", stripeConnectID="abcd")])
    await send(ctx, flow(wallet("foo"), payout()))
    assert ctx.calls == [get_wallet("foo"), debit("foo", None, {}), initiation("abcd")]


@pytest.mark.parametrize(
    ("source", "script", "calls"),
    [
        (account("foo"), {"GetAccount": [account_answer("foo", {"stripeConnectID": "abcd"})]},
         [get_account("default", "foo"), stripe("abcd"), tx("default", "foo", "world")]),
        (wallet("foo"), {"GetWallet": [wallet_answer("foo", stripeConnectID="abcd")]},
         [get_wallet("foo"), stripe("abcd"), debit("foo", None, {})]),
    ],
    ids=["F3", "F5"],
)
async def test_a_payout_recorded_before_transfer_initiations_replays_its_stripe_calls(
    source: object, script: dict[str, list[object]], calls: list[Call]
) -> None:
    ctx = FakeContext(unpatched=["generic-transfer-initiation"], **script)
    await send(ctx, flow(source, payout()))
    assert ctx.calls == calls
    legacy = FakeContext(unpatched=["generic-transfer-initiation"])
    assert await send_fails(legacy, flow(source, payout("paypal"))) == "only stripe actually supported"
    assert legacy.calls == []


# --------------------------------------------------------------------------------------------
# Payments as sources: SAVE_PAYMENT, PA(p), the default amount


async def test_payment_to_account_on_the_internal_ledger_is_one_transaction() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("p1")])
    await send(ctx, flow(payment("p1"), account("foo", IL)))
    assert ctx.calls == [get_payment("p1"), import_tx("p1"), tx(IL, "payment:p1", "foo")]


async def test_payment_to_wallet_on_the_internal_ledger_is_one_credit() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("p1")], GetWallet=[wallet_answer("w1", IL)])
    await send(ctx, flow(payment("p1"), wallet("w1")))
    assert ctx.calls == [get_payment("p1"), import_tx("p1"), get_wallet("w1"), credit("w1", [ACCOUNT("payment:p1")])]


async def test_payment_account_replaces_dashes() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("a-b-c")])
    await send(ctx, flow(payment("a-b-c"), account("foo", IL)))
    assert ctx.calls == [get_payment("a-b-c"), import_tx("a-b-c"), tx(IL, "payment:a_b_c", "foo")]


async def test_the_import_carries_stage_metadata_and_timestamp_but_the_payment_amount() -> None:
    ctx = FakeContext(GetPayment=[payment_answer("p1", 2500, "EUR/2")])
    raw = flow(payment("p1"), account("foo", IL), metadata={"k": "v"}, timestamp="2024-05-02T10:11:12Z")
    await send(ctx, raw)
    assert ctx.calls[1] == import_tx(
        "p1", {"amount": 2500, "asset": "EUR/2"}, metadata={"k": "v"}, timestamp="2024-05-02T10:11:12Z"
    )
    assert ctx.calls[2] == tx(IL, "payment:p1", "foo", metadata={"k": "v"}, timestamp="2024-05-02T10:11:12Z")


async def test_amount_defaults_to_the_payment_only_when_the_amount_object_is_absent() -> None:
    eur = {"amount": 2500, "asset": "EUR/2"}
    ctx = FakeContext(GetPayment=[payment_answer("p1", 2500, "EUR/2")])
    await send(ctx, flow(payment("p1"), account("foo", IL), amount=None))
    assert ctx.calls == [get_payment("p1"), import_tx("p1", eur), tx(IL, "payment:p1", "foo", eur)]

    ctx = FakeContext(GetPayment=[payment_answer("p1", 2500, "EUR/2")])
    await send(ctx, flow(payment("p1"), account("foo", IL), amount={"amount": "40", "asset": "EUR/2"}))
    assert ctx.calls[-1] == tx(IL, "payment:p1", "foo", {"amount": 40, "asset": "EUR/2"})


async def test_payment_amount_given_as_a_decimal_string_is_read_exactly() -> None:
    big = 2**70 + 1
    ctx = FakeContext(GetPayment=[payment_answer("p1", str(big), "EUR/2")])
    await send(ctx, flow(payment("p1"), account("foo", IL), amount=None))
    assert ctx.calls[-1] == tx(IL, "payment:p1", "foo", {"amount": big, "asset": "EUR/2"})


async def test_get_payment_failure_is_prefixed_and_stops_the_flow() -> None:
    ctx = FakeContext(GetPayment=[failure("GetPayment", "payment not found", code="NOT_FOUND")])
    message = await send_fails(ctx, flow(payment("p1"), account("foo")))
    assert message == "retrieving payment: p1: payment not found"
    assert ctx.calls == [get_payment("p1")]


async def test_import_failure_other_than_conflict_fails_the_stage() -> None:
    refused = failure("CreateTransaction", "ledger not found", code="NOT_FOUND")
    ctx = FakeContext(GetPayment=[payment_answer("p1")], CreateTransaction=[refused])
    with pytest.raises(ActivityFailed) as err:
        await send(ctx, flow(payment("p1"), account("foo")))
    assert (err.value.message, err.value.code) == ("ledger not found", "NOT_FOUND")
    assert ctx.calls == [get_payment("p1"), import_tx("p1")]


async def test_payment_to_payment_is_refused_before_any_call() -> None:  # §17.5 #45
    ctx = FakeContext()
    for amount in (USD100, None, {"amount": "${x}", "asset": "USD"}):
        message = await send_fails(ctx, flow(payment("p1"), payout(), amount=amount))
        assert message == "send from payment to payment is not supported"
    assert ctx.calls == []


# --------------------------------------------------------------------------------------------
# Amounts


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        (account("a"), account("b")),
        (account("a"), wallet("w")),
        (account("a"), payout()),
        (wallet("w"), account("b")),
        (wallet("w"), payout()),
        (wallet("w"), wallet("v")),
    ],
    ids=["F1", "F2", "F3", "F4", "F5", "F6"],
)
async def test_amount_is_required_and_nothing_is_called_without_it(source: object, destination: object) -> None:
    ctx = FakeContext()
    assert await send_fails(ctx, flow(source, destination, amount=None)) == "amount must be specified"
    assert ctx.calls == []


@pytest.mark.parametrize("source", [account("a"), wallet("w"), payment("p1")], ids=["account", "wallet", "payment"])
async def test_an_amount_that_resolves_empty_fails_before_any_call(source: object) -> None:
    # the amount object is set, its amount null; the original sends null to the stack.
    ctx = FakeContext()
    message = await send_fails(ctx, flow(source, account("b"), amount={"amount": "${missing}", "asset": "USD"}))
    assert message == "amount.amount must be an integer but resolved to an empty value (undefined variable?)"
    assert ctx.calls == []


async def test_amounts_beyond_64_bits_are_exact() -> None:
    big = 2**64 * 3 + 7
    money = {"amount": big, "asset": "USD/2"}
    ctx = FakeContext(GetWallet=[wallet_answer("w1", "l2")])
    await send(ctx, flow(account("foo"), wallet("w1"), amount={"amount": str(big), "asset": "USD/2"}))
    assert ctx.calls[1] == tx("default", "foo", "world", money, metadata={TO: "l2"})
    assert ctx.calls[2] == credit("w1", [ACCOUNT("world")], {FROM: "default"}, money=money)
    assert type(ctx.calls[1][1]["Data"]["postings"][0]["amount"]) is int


async def test_negative_amounts_reach_the_ledger() -> None:  # §17.5 #40: the Ledger refuses them
    ctx = FakeContext(CreateTransaction=[failure("CreateTransaction", "invalid amount")])
    message = await send_fails(ctx, flow(account("foo"), account("bar"), amount={"amount": -1, "asset": "USD"}))
    assert message == "invalid amount"
    assert ctx.calls == [tx("default", "foo", "bar", {"amount": -1, "asset": "USD"})]


# --------------------------------------------------------------------------------------------
# Metadata and timestamps


async def test_ledger_happy_path_input() -> None:  # §17.5 #38, §7.3 example
    ctx = FakeContext()
    raw = flow(
        account("world", "default"),
        account("bank", "default"),
        amount={"amount": 100, "asset": "EUR/2"},
        metadata={"foo": "${userID}"},
        timestamp="${timestamp}",
    )
    await send(ctx, raw, {"userID": "bar", "timestamp": "2024-05-02T10:11:12.123456Z"})
    assert ctx.calls == [
        (
            "CreateTransaction",
            {
                "Ledger": "default",
                "Data": {
                    "metadata": {"foo": "bar"},
                    "postings": [{"amount": 100, "asset": "EUR/2", "destination": "bank", "source": "world"}],
                    "timestamp": "2024-05-02T10:11:12.123456Z",
                },
            },
        )
    ]


async def test_merge_overrides_a_user_key_of_the_same_name() -> None:
    ctx = FakeContext()
    user = {TO: "mine", FROM: "mine too", "foo": "bar"}
    await send(ctx, flow(account("foo", "l1"), account("bar", "l2"), metadata=user))
    assert ctx.calls == [
        tx("l1", "foo", "world", metadata={TO: "l2", FROM: "mine too", "foo": "bar"}),
        tx("l2", "world", "bar", metadata={TO: "mine", FROM: "l1", "foo": "bar"}),
    ]


async def test_wallet_operations_carry_metadata_and_timestamp() -> None:
    ts = "2024-05-02T10:11:12.5Z"
    ctx = FakeContext(GetWallet=[wallet_answer("w1", "l1"), wallet_answer("w2", "l2")])
    await send(ctx, flow(wallet("w1"), wallet("w2"), metadata={"k": "v"}, timestamp="2024-05-02T12:11:12.500+02:00"))
    assert ctx.calls[2:] == [
        debit("w1", None, {"k": "v", TO: "l2"}, timestamp=ts),
        credit("w2", None, {"k": "v", FROM: "l1"}, timestamp=ts),
    ]


async def test_a_timestamp_that_resolves_empty_is_sent_as_the_zero_date() -> None:  # Q-30, kept
    ctx = FakeContext()
    await send(ctx, flow(account("foo"), account("bar"), timestamp="${missing}"))
    assert ctx.calls == [tx("default", "foo", "bar", timestamp="0001-01-01T00:00:00Z")]


# --------------------------------------------------------------------------------------------
# Wallets: RESOLVE and Q-16


async def test_same_ledger_wallet_to_wallet_always_takes_from_main() -> None:  # Q-16, kept
    ctx = FakeContext(GetWallet=[wallet_answer("foo"), wallet_answer("bar")])
    await send(ctx, flow(wallet("foo", balance="savings"), wallet("bar", balance="spend")))
    assert ctx.calls[2:] == [credit("bar", [WALLET("foo", "main")], balance="spend")]


async def test_cross_ledger_wallet_to_wallet_debits_the_configured_balance() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("foo", "l1"), wallet_answer("bar", "l2")])
    await send(ctx, flow(wallet("foo", balance="savings"), wallet("bar")))
    assert ctx.calls[2] == debit("foo", None, {TO: "l2"}, balance="savings")


async def test_wallets_found_by_name_are_used_by_their_id() -> None:
    ctx = FakeContext(ListWallets=[wallets_answer(a_wallet("id-1")), wallets_answer(a_wallet("id-2"))])
    await send(ctx, flow(wallet(name="alice"), wallet(name="bob")))
    assert ctx.calls == [list_wallets("alice"), list_wallets("bob"), credit("id-2", [WALLET("id-1", "main")])]


@pytest.mark.parametrize(
    ("found", "message"),
    [([], "wallet not found"), ([a_wallet("a"), a_wallet("b")], "found multiple wallets with the same name")],
)
async def test_a_name_must_match_exactly_one_wallet(found: list[dict[str, object]], message: str) -> None:
    ctx = FakeContext(ListWallets=[wallets_answer(*found)])
    assert await send_fails(ctx, flow(account("foo"), wallet(name="alice"))) == message
    assert ctx.calls == [list_wallets("alice")]


async def test_wallet_read_failure_fails_the_stage_with_the_remote_message() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("foo"), failure("GetWallet", "wallet not found", code="NOT_FOUND")])
    assert await send_fails(ctx, flow(wallet("foo"), wallet("bar"))) == "wallet not found"
    assert ctx.calls == [get_wallet("foo"), get_wallet("bar")]


# --------------------------------------------------------------------------------------------
# Payouts (F3, F5) and their checks (§17.5 #46)


async def test_any_psp_is_paid_out_as_configured() -> None:  # FLOWS-2026 §28.2 #67
    ctx = FakeContext(GetAccount=[account_answer("foo", {"stripeConnectID": "acct_1"})])
    await send(ctx, flow(account("foo"), payout("paypal")))
    assert ctx.calls[-1] == initiation("acct_1", psp="paypal")
    assert ctx.patches == ["generic-transfer-initiation"]


async def test_payout_passes_connector_and_validation_flags() -> None:  # FLOWS-2026 §28.2 #69
    ctx = FakeContext(GetAccount=[account_answer("foo", {"formanceAccountID": "acct_1"})])
    raw = flow(
        account("foo", "l1"),
        {"payment": {"psp": "wise", "type": "payout", "sourceAccount": "wise-acc", "waitingValidation": True,
                     "connectorId": "conn"}},
        metadata={"k": "v"},
    )
    await send(ctx, raw)
    assert ctx.calls == [
        get_account("l1", "foo"),
        tx("l1", "foo", "world", metadata={"k": "v"}),
        initiation("acct_1", "wise", "PAYOUT", {"k": "v"}, waiting=True, connectorID="conn", source="wise-acc"),
    ]


@pytest.mark.parametrize("key", ["connectorId", "connectorID"])
async def test_the_connector_is_read_from_either_spelling(key: str) -> None:  # connectorID accepted too
    ctx = FakeContext(GetAccount=[account_answer("foo", {"stripeConnectID": "acct_1"})])
    await send(ctx, flow(account("foo"), payout(**{key: "conn_1"})))
    assert ctx.calls[-1] == initiation("acct_1", connectorID="conn_1")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "expected 'stripeConnectID' metadata containing formance account ID"),
        (None, "expected 'stripeConnectID' metadata containing formance account ID"),
        ({"formanceAccountID": "x"}, "expected 'stripeConnectID' metadata containing formance account ID"),
        ({"stripeConnectID": ""}, "formance account ID empty"),
        ({"stripeConnectID": None}, "formance account ID empty"),
    ],
)
async def test_account_payout_needs_the_connected_account_in_metadata(metadata: object, message: str) -> None:
    ctx = FakeContext(GetAccount=[account_answer("foo", metadata)])
    assert await send_fails(ctx, flow(account("foo"), payout())) == message
    assert ctx.calls == [get_account("default", "foo")]


async def test_default_metadata_key_is_formance_account_id() -> None:  # §17.5 #46
    ctx = FakeContext(GetAccount=[account_answer("foo", {"other": "x"})])
    message = await send_fails(ctx, flow(account("foo"), {"payment": {"psp": "stripe"}}))
    assert message == "expected 'formanceAccountID' metadata containing formance account ID"


async def test_non_string_connected_account_is_stringified() -> None:
    ctx = FakeContext(GetAccount=[account_answer("foo", {"stripeConnectID": 1234})])
    await send(ctx, flow(account("foo"), payout()))
    assert ctx.calls[2] == initiation("1234")


async def test_get_account_failure_is_prefixed() -> None:
    ctx = FakeContext(GetAccount=[failure("GetAccount", "account not found", code="NOT_FOUND")])
    assert await send_fails(ctx, flow(account("foo"), payout())) == "reading account: foo: account not found"
    assert ctx.calls == [get_account("default", "foo")]


@pytest.mark.parametrize(
    ("ref", "script", "message"),
    [
        (
            wallet("foo"),
            {"GetWallet": [failure("GetWallet", "unreachable", "TRANSPORT")]},
            "reading account: foo: unreachable",
        ),
        (wallet(name="alice"), {"ListWallets": [wallets_answer()]}, "reading account: alice: wallet not found"),
        (
            wallet(name="alice"),
            {"ListWallets": [wallets_answer(a_wallet("a"), a_wallet("b"))]},
            "reading account: alice: found multiple wallets with the same name",
        ),
        (
            wallet("foo"),
            {"GetWallet": [wallet_answer("foo")]},
            "expected 'stripeConnectID' metadata containing formance account ID",
        ),
    ],
)
async def test_wallet_payout_failures(ref: object, script: dict[str, list[object]], message: str) -> None:
    ctx = FakeContext(**script)
    assert await send_fails(ctx, flow(ref, payout())) == message
    assert len(ctx.calls) == 1


# --------------------------------------------------------------------------------------------
# Two-leg moves: a first leg that fails is the remote message; a second that fails says where the money is


async def test_first_leg_failure_is_the_remote_message_and_stops() -> None:
    ctx = FakeContext(CreateTransaction=[failure("CreateTransaction", "insufficient funds", "INSUFFICIENT_FUND")])
    with pytest.raises(ActivityFailed) as err:
        await send(ctx, flow(account("foo", "l1"), account("bar", "l2")))
    assert err.value.message == "insufficient funds"
    assert len(ctx.calls) == 1


@pytest.mark.parametrize(
    ("raw", "script", "message"),
    [
        (
            flow(account("foo", "l1"), account("bar", "l2")),
            {"CreateTransaction": [transaction(12), failure("CreateTransaction", "ledger l2 not found")]},
            "moved 100 USD from foo@l1 to world@l1 (transaction 12), "
            "but the move from world@l2 to bar@l2 failed: ledger l2 not found",
        ),
        (
            flow(account("foo", "l1"), wallet("w2", balance="spend")),
            {
                "GetWallet": [wallet_answer("w2", "l2")],
                "CreateTransaction": [transaction(7)],
                "CreditWallet": [failure("CreditWallet", "bad balance")],
            },
            "moved 100 USD from foo@l1 to world@l1 (transaction 7), "
            "but the move from world@l2 to wallet w2@l2 (balance spend) failed: bad balance",
        ),
        (
            flow(wallet("w1", balance="savings"), account("bar", "l2")),
            {
                "GetWallet": [wallet_answer("w1", "l1")],
                "CreateTransaction": [failure("CreateTransaction", "no such ledger")],
            },
            "moved 100 USD from wallet w1@l1 (balance savings) to world@l1, "
            "but the move from world@l2 to bar@l2 failed: no such ledger",
        ),
        (
            flow(wallet("w1"), wallet("w2")),
            {
                "GetWallet": [wallet_answer("w1", "l1"), wallet_answer("w2", "l2")],
                "CreditWallet": [failure("CreditWallet", "wallet gone", "NOT_FOUND")],
            },
            "moved 100 USD from wallet w1@l1 (balance main) to world@l1, "
            "but the move from world@l2 to wallet w2@l2 (balance main) failed: wallet gone",
        ),
        (
            flow(payment("p-1"), account("bar", "l2")),
            {
                "GetPayment": [payment_answer("p-1")],
                "CreateTransaction": [transaction(1), transaction(2), failure("CreateTransaction", "refused")],
            },
            f"moved 100 USD from payment:p_1@{IL} to world@{IL} (transaction 2), "
            "but the move from world@l2 to bar@l2 failed: refused",
        ),
        (
            flow(payment("p1"), wallet(name="bob")),
            {
                "GetPayment": [payment_answer("p1")],
                "ListWallets": [wallets_answer(a_wallet("w9", "l2"))],
                "CreateTransaction": [transaction(1), transaction(2)],
                "CreditWallet": [failure("CreditWallet", "refused")],
            },
            f"moved 100 USD from payment:p1@{IL} to world@{IL} (transaction 2), "
            "but the move from world@l2 to wallet w9@l2 (balance main) failed: refused",
        ),
        (
            flow(account("foo", "l1", through="liabilities:payouts"), payout("wise")),
            {
                "GetAccount": [account_answer("foo", {"stripeConnectID": "acct_1"})],
                "CreateTransaction": [transaction(4)],
                "CreateTransferInitiation": [failure("CreateTransferInitiation", "no connector found")],
            },
            "debited 100 USD from foo@l1 to liabilities:payouts@l1 (transaction 4), but the transfer to wise acct_1 "
            "was refused: no connector found; the funds are in liabilities:payouts@l1",
        ),
        (
            flow(wallet(name="alice"), payout()),
            {
                "ListWallets": [wallets_answer(a_wallet("w1", "l1", stripeConnectID="acct_1"))],
                "CreateTransferInitiation": [failure("CreateTransferInitiation", "refused")],
            },
            "debited 100 USD from wallet w1@l1 (balance main) to world@l1, but the transfer to stripe acct_1 was "
            "refused: refused; the funds have left l1 (to world@l1) and were not paid out",
        ),
    ],
    ids=["F1", "F2", "F4", "F6", "F7", "F8", "F3", "F5"],
)
async def test_second_leg_failure_says_where_the_money_is(
    raw: dict[str, object], script: dict[str, list[object]], message: str
) -> None:
    ctx = FakeContext(**script)
    with pytest.raises(StageFailure) as err:
        await send(ctx, raw)
    assert err.value.message == message
    assert isinstance(err.value.__cause__, ActivityFailed)


async def test_second_leg_message_without_a_transaction_id() -> None:
    ctx = FakeContext(CreateTransaction=[{"data": []}, failure("CreateTransaction", "refused")])
    message = await send_fails(ctx, flow(account("foo", "l1"), account("bar", "l2")))
    assert message == "moved 100 USD from foo@l1 to world@l1, but the move from world@l2 to bar@l2 failed: refused"


async def test_same_ledger_moves_fail_with_the_remote_message_alone() -> None:
    ctx = FakeContext(GetWallet=[wallet_answer("w1")], CreditWallet=[failure("CreditWallet", "refused")])
    assert await send_fails(ctx, flow(account("foo"), wallet("w1"))) == "refused"


# --------------------------------------------------------------------------------------------
# Bridges and overdrafts (FLOWS-2026 §28.3), payment sources with options (§28.4)


def program(source: str, destination: str, money: Mapping[str, object] = USD100) -> str:
    return (f"send [{money['asset']} {money['amount']}] (\n  source = @{source} allowing unbounded overdraft\n"
            f"  destination = @{destination}\n)")


def script_tx(ledger: str, source: str, destination: str, money: Mapping[str, object] = USD100,
              metadata: Mapping[str, str] | None = None, **optional: str) -> Call:
    data: dict[str, Any] = {"metadata": dict(metadata)} if metadata else {}
    if "reference" in optional:
        data["reference"] = optional.pop("reference")
    data["script"] = {"plain": program(source, destination, money)}
    return ("CreateTransaction", {"Ledger": ledger, "Data": data | optional})


async def test_a_payout_debits_to_the_bridge_with_or_without_an_overdraft() -> None:  # §28.3 #74
    usd1000 = {"amount": 1000, "asset": "USD"}
    for overdraft, debit_call in (
        (False, tx("main", "users:123", "liabilities:payouts-pending", usd1000)),
        (True, script_tx("main", "users:123", "liabilities:payouts-pending", usd1000)),
    ):
        ctx = FakeContext(GetAccount=[account_answer("users:123", {"stripeConnectID": "acct_1"})])
        source = account("users:123", "main", through="liabilities:payouts-pending", overdraft=overdraft)
        await send(ctx, flow(source, payout(), usd1000))
        assert ctx.calls[1] == debit_call
    assert debit_call[1]["Data"]["script"]["plain"] == (
        "send [USD 1000] (\n  source = @users:123 allowing unbounded overdraft\n"
        "  destination = @liabilities:payouts-pending\n)"
    )


async def test_cross_ledger_moves_go_through_both_bridges() -> None:  # §28.3 #75
    gbp = {"amount": 250, "asset": "GBP"}
    for overdraft in (False, True):
        ctx = FakeContext()
        await send(ctx, flow(account("users:sender", "ledger1", through="bridge:outbound", overdraft=overdraft),
                             account("merchants:receiver", "ledger2", through="bridge:inbound", overdraft=overdraft),
                             gbp))
        make = script_tx if overdraft else tx
        assert ctx.calls == [
            make("ledger1", "users:sender", "bridge:outbound", gbp, {TO: "ledger2"}),
            make("ledger2", "bridge:inbound", "merchants:receiver", gbp, {FROM: "ledger1"}),
        ]


async def test_same_ledger_moves_ignore_bridges_and_overdrafts() -> None:  # §28.3 #76, Q-48
    ctx = FakeContext()
    await send(ctx, flow(account("a", "l", through="bridge", overdraft=True), account("b", "l", through="x")))
    assert ctx.calls == [tx("l", "a", "b")]


async def test_a_destination_bridge_of_world_needs_no_overdraft() -> None:  # §28.3 #77
    ctx = FakeContext()
    await send(ctx, flow(account("s", "l1"), account("d", "l2", through="world", overdraft=True)))
    assert ctx.calls[1] == tx("l2", "world", "d", metadata={FROM: "l1"})


async def test_cross_ledger_account_to_wallet_credits_from_the_bridge() -> None:  # §28.3 #78, Q-53
    ctx = FakeContext(GetWallet=[wallet_answer("w1", "l2")])
    await send(ctx, flow(account("src", "l1", through="bridge:out"), wallet("w1")))
    assert ctx.calls == [
        get_wallet("w1"),
        tx("l1", "src", "bridge:out", metadata={TO: "l2"}),
        credit("w1", [ACCOUNT("bridge:out")], {FROM: "l1"}),
    ]


async def test_cross_ledger_wallet_to_account_comes_in_through_the_destination_bridge() -> None:  # §28.3 #79
    ctx = FakeContext(GetWallet=[wallet_answer("w1", "l1")])
    await send(ctx, flow(wallet("w1"), account("acc", "l2", through="assets:in", overdraft=True)))
    assert ctx.calls == [
        get_wallet("w1"),
        debit("w1", None, {TO: "l2"}),
        script_tx("l2", "assets:in", "acc", metadata={FROM: "l1"}),
    ]


async def test_payment_to_another_ledger_comes_in_through_the_destination_bridge() -> None:  # §28.4 #80
    eur500 = {"amount": 500, "asset": "EUR"}
    for overdraft, last in ((False, tx), (True, script_tx)):
        ctx = FakeContext(GetPayment=[payment_answer("p1", 500, "EUR")])
        await send(ctx, flow(payment("p1"), account("foo", through="assets:stripe:incoming", overdraft=overdraft),
                             amount=None))
        assert ctx.calls == [
            get_payment("p1"),
            import_tx("p1", eur500),
            tx(IL, "payment:p1", "world", eur500, {TO: "default"}),
            last("default", "assets:stripe:incoming", "foo", eur500, {FROM: IL}),
        ]


async def test_custom_ingestion_into_a_holding_account() -> None:  # §28.4 #81, Q-50
    usd1500 = {"amount": 1500, "asset": "USD"}
    source = {"payment": {"id": "payment-custom", "ledger": "main", "holdingAccount": "transit:payments:pending",
                          "throughAccount": "assets:stripe"}}
    raw = flow(source, account("revenue:sales", "main"), usd1500)
    ctx = FakeContext(GetPayment=[payment_answer("payment-custom", 1500)])
    await send(ctx, raw)
    assert ctx.calls[1:] == [
        tx("main", "assets:stripe", "transit:payments:pending", usd1500, reference="transit:payments:pending"),
        tx("main", "transit:payments:pending", "revenue:sales", usd1500),
    ]
    overdrawn = {**source["payment"], "allowOverdraft": True}
    ctx = FakeContext(GetPayment=[payment_answer("payment-custom", 1500)],
                      CreateTransaction=[failure("CreateTransaction", "duplicate reference", "CONFLICT"),
                                         transaction(2)])
    await send(ctx, flow({"payment": overdrawn}, account("revenue:sales", "main"), usd1500))
    assert ctx.calls[1] == script_tx("main", "assets:stripe", "transit:payments:pending", usd1500,
                                     reference="transit:payments:pending")
    assert ctx.calls[2] == tx("main", "transit:payments:pending", "revenue:sales", usd1500)  # went on after CONFLICT


@pytest.mark.parametrize(("source", "through"), [("users 1", "world"), ("a", 'b\n)\nsend [USD 1] (')])
async def test_what_cannot_be_written_into_a_program_fails_before_the_call(source: str, through: str) -> None:
    ctx = FakeContext()
    message = await send_fails(ctx, flow(account(source, "l1", through=through, overdraft=True), account("b", "l2")))
    assert "is not a ledger account address" in message
    assert ctx.calls == []  # refused, not pasted into the program


async def test_an_asset_that_cannot_be_written_into_a_program_fails_before_the_call() -> None:
    ctx = FakeContext()
    message = await send_fails(ctx, flow(account("a", "l1", overdraft=True), account("b", "l2"),
                                         {"amount": 1, "asset": "USD] (\nsource = @world"}))
    assert "is not a ledger asset" in message and ctx.calls == []
