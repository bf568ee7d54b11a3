"""The money-moving activities of the `send` stage, as the flows call them (spec §6.5.2, §7.3).

Each helper builds one activity input in exactly the shape stage history shows (§7.3) and runs it
through `ctx.call`, the only door to the world (STYLE R3). Nothing here reads a clock or makes a
choice: the same stage config and the same answers always give the same calls.

Also here: the plain-text names of the places money sits, used by the flows' failure messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.stack import ActivityName
from orchestration.stages._context import StageContext
from orchestration.stages._errors import StageFailure, shown
from orchestration.stages.send._config import DestinationPayment

INTERNAL_LEDGER = "orchestration-000-internal"
"""`IL` (§6.5.2): the ledger where payments are imported; it must exist in Ledger v2."""
MOVE_TO_LEDGER = "orchestration/move-to-ledger"
"""`TO` (§6.5.2): set on the leg that takes money out of its ledger, names the ledger it goes to."""
MOVE_FROM_LEDGER = "orchestration/move-from-ledger"
"""`FROM` (§6.5.2): set on the leg that brings money into a ledger, names the ledger it came from."""
WORLD = "world"
"""The Ledger's unbounded account: money enters and leaves a ledger through it."""

# What the Ledger accepts (formancehq/ledger pkg/accounts, pkg/assets): nothing else may be written
# into a Numscript program.
_ADDRESS = re.compile(r"[a-zA-Z0-9_-]+(:[a-zA-Z0-9_-]+)*")
_ASSET = re.compile(r"[A-Z][A-Z0-9]{0,16}(_[A-Z]{1,16})?(/[0-9]{1,6})?")

Subject = dict[str, str]
"""A Wallets subject: `{"type": "ACCOUNT", "identifier": …}` or `{"type": "WALLET", "identifier", "balance"}`."""


@dataclass(frozen=True)
class AccountRef:
    """A ledger account, and how money crosses from or to another ledger through it."""

    id: str
    ledger: str
    through: str = WORLD
    """`THR(x)`: the account standing for the other ledger in a cross-ledger move."""
    overdraft: bool = False
    """`OD(x)`: the move that takes money from this side may go below zero."""


@dataclass(frozen=True)
class Money:
    """An exact amount in minor units of an asset (Q-19: Python ints, any size)."""

    amount: int
    asset: str

    def to_json(self) -> dict[str, object]:
        """The `{"amount": <int>, "asset": …}` object of wallet operations."""
        return {"amount": self.amount, "asset": self.asset}

    def __str__(self) -> str:
        return f"{self.amount} {self.asset}".rstrip()


@dataclass(frozen=True)
class Move:
    """What every money-moving call of one send stage carries."""

    money: Money
    metadata: Mapping[str, str]
    """`m`, the stage metadata (`{}` when absent); each call is given it or `m ⊕ {k: v}`."""
    timestamp: str | None
    """`ts`, RFC 3339 UTC; None when the stage sets no timestamp (then it is not sent)."""


def with_entry(metadata: Mapping[str, str], key: str, value: str) -> dict[str, str]:
    """`m ⊕ {key: value}` (§6.5.2): a copy of `metadata` where `key` is set, overriding a user value."""
    return {**metadata, key: value}


def account_subject(address: str) -> Subject:
    """`ACCOUNT(x)`: a ledger account as a Wallets source or destination."""
    return {"identifier": address, "type": "ACCOUNT"}


def wallet_subject(wallet_id: str, balance: str) -> Subject:
    """`WALLET(x, b)`: one balance of a wallet as a Wallets source."""
    return {"balance": balance, "identifier": wallet_id, "type": "WALLET"}


async def create_transaction(
    ctx: StageContext,
    move: Move,
    ledger: str,
    source: str,
    destination: str,
    metadata: Mapping[str, str],
    *,
    reference: str | None = None,
    overdraft: bool = False,
) -> int | None:
    """`MOVE(ledger, source → destination, metadata, overdraft, reference?)` with the move's money and
    `ts` (FLOWS-2026 §21.1): one posting (`TX`), or with `overdraft` the Numscript program that lets
    `source` go below zero (`NS`).

    Returns:
        The new transaction's id, when the Ledger's answer carries one.

    Raises:
        StageFailure: with `overdraft`, an address or asset that cannot be written into the
            program (Q-55: refused before the call rather than pasted into it).
        ActivityFailed: the Ledger refused it for good.
    """
    data: dict[str, Any] = {}
    if metadata:  # §7.3: empty metadata is omitted
        data["metadata"] = dict(metadata)
    if not overdraft:
        posting = {"amount": move.money.amount, "asset": move.money.asset, "destination": destination, "source": source}
        data["postings"] = [posting]
    if reference is not None:
        data["reference"] = reference
    if overdraft:
        data["script"] = {"plain": overdraft_program(move.money, source, destination)}
    if move.timestamp is not None:
        data["timestamp"] = move.timestamp
    # the capitalised `Ledger` / `Data` keys of the original's history.
    output = await ctx.call(ActivityName.CREATE_TRANSACTION, {"Ledger": ledger, "Data": data})
    return _transaction_id(output)


def _transaction_id(output: object) -> int | None:
    # `{"data": [transaction]}`, the Ledger v1 shape.
    if not isinstance(output, Mapping):
        return None
    transactions = output.get("data")
    if not isinstance(transactions, list) or not transactions or not isinstance(transactions[0], Mapping):
        return None
    tx_id = transactions[0].get("id")
    return tx_id if isinstance(tx_id, int) and not isinstance(tx_id, bool) else None


async def credit_wallet(
    ctx: StageContext,
    move: Move,
    wallet_id: str,
    balance: str,
    sources: list[Subject] | None,
    metadata: Mapping[str, str],
) -> None:
    """`CREDIT(wallet, balance, sources, metadata)`; without sources, Wallets credits from `world`.

    Raises:
        ActivityFailed: Wallets refused it for good.
    """
    data: dict[str, Any] = {"amount": move.money.to_json(), "balance": balance, "metadata": dict(metadata)}
    if sources is not None:  # the cross-ledger wallet→wallet credit names none (§6.5.3 F6)
        data["sources"] = sources
    if move.timestamp is not None:
        data["timestamp"] = move.timestamp
    await ctx.call(ActivityName.CREDIT_WALLET, {"id": wallet_id, "data": data})


async def debit_wallet(
    ctx: StageContext,
    move: Move,
    wallet_id: str,
    balance: str,
    destination: Subject | None,
    metadata: Mapping[str, str],
) -> None:
    """`DEBIT(wallet, [balance], destination?, metadata)`; without destination, Wallets debits to `world`.

    Raises:
        ActivityFailed: Wallets refused it for good (e.g. `INSUFFICIENT_FUND`).
    """
    data: dict[str, Any] = {"amount": move.money.to_json(), "balances": [balance]}
    if destination is not None:
        data["destination"] = destination
    # Q-17 fixed (DESIGN §4): always an object, `{}` rather than the original's null.
    data["metadata"] = dict(metadata)
    if move.timestamp is not None:
        data["timestamp"] = move.timestamp
    await ctx.call(ActivityName.DEBIT_WALLET, {"id": wallet_id, "data": data})


def overdraft_program(money: Money, source: str, destination: str) -> str:
    """The Numscript program of a move whose source may go below zero, exactly as the original writes it.

    Raises:
        StageFailure: an address or the asset is not what the Ledger accepts, which pasted into the
            program would fail to compile or change what it does (Q-55).
    """
    for address in (source, destination):
        if _ADDRESS.fullmatch(address) is None:
            raise StageFailure(f"'{shown(address)}' is not a ledger account address (letters, digits, '_', '-', ':')")
    if _ASSET.fullmatch(money.asset) is None:
        raise StageFailure(f"'{shown(money.asset)}' is not a ledger asset (e.g. USD, USD/2)")
    return (
        f"send [{money.asset} {money.amount}] (\n"
        f"  source = @{source} allowing unbounded overdraft\n"
        f"  destination = @{destination}\n"
        ")"
    )


async def transfer_initiation(
    ctx: StageContext, move: Move, destination_account: str, payout: DestinationPayment
) -> None:
    """`TI(F)` (FLOWS-2026 §21.4): initiate the payout of the move's money through the PSP.

    The engine adds the transfer's deterministic `reference`; the input is the activity's, as
    stage history shows it (§22.4), not the Payments request.

    Raises:
        ActivityFailed: Payments refused it for good.
    """
    request: dict[str, Any] = {"amount": move.money.amount, "asset": move.money.asset}
    if payout.connector_id is not None:  # set, even to "": shown as given (§5.6)
        request["connectorID"] = payout.connector_id
    request["provider"] = payout.psp
    request["destination"] = destination_account
    if payout.source_account is not None:
        request["source"] = payout.source_account
    # Upper-cased as sent (the original shows it as configured): the official SDK reads only TRANSFER and PAYOUT.
    request["type"] = payout.type.upper()
    request["metadata"] = dict(move.metadata)
    request["waitingValidation"] = payout.waiting_validation
    await ctx.call(ActivityName.CREATE_TRANSFER_INITIATION, request)


async def stripe_transfer(
    ctx: StageContext, move: Move, connected_account: str, *, waiting_validation: bool, connector_id: str | None
) -> None:
    """Initiate a Stripe payout of the move's money to a connected account (§6.5.3 F3, F5), as
    instances recorded before `transfer_initiation` do.

    The engine adds the transfer's deterministic `reference` (§7.1); the metadata is shown in
    history but never reaches Payments (Q-18).

    Raises:
        ActivityFailed: Payments refused it for good.
    """
    request: dict[str, Any] = {"amount": move.money.amount, "asset": move.money.asset}
    if connector_id is not None:  # set, even to "": shown as given (§5.6)
        request["connectorID"] = connector_id
    request["destination"] = connected_account
    request["metadata"] = dict(move.metadata)
    request["waitingValidation"] = waiting_validation
    await ctx.call(ActivityName.STRIPE_TRANSFER, request)


# --------------------------------------------------------------------------------------------
# Places, as failure messages name them: `foo@l1`, `world@l1`, `wallet w1@l1 (balance main)`.


def account_place(address: str, ledger: str) -> str:
    """A ledger account, `address@ledger`."""
    return f"{address}@{ledger}"


def wallet_place(wallet_id: str, ledger: str, balance: str) -> str:
    """One balance of a wallet, `wallet <id>@<ledger> (balance <name>)`."""
    return f"wallet {wallet_id}@{ledger} (balance {balance})"
