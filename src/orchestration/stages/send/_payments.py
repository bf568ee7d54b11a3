"""Payments in the `send` stage: importing a source payment, locating a payout's destination.

* `import_payment` is `INGEST(S)` (FLOWS-2026 §21.3): read the payment, then import its whole
  initial amount into its holding account, once (the old `SAVE_PAYMENT(p)` with the defaults).
* `read_account_metadata` and `destination_account` find where a payout goes (flows F3 and F5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from orchestration.stack import CONFLICT, ActivityName
from orchestration.stages._context import StageContext
from orchestration.stages._errors import ActivityFailed, StageFailure
from orchestration.stages.send._config import SourcePayment
from orchestration.stages.send._moves import INTERNAL_LEDGER, WORLD, AccountRef, Money, Move, create_transaction

_INTEGER = re.compile(r"[+-]?[0-9]+")


def payment_account(payment_id: str) -> str:
    """`PA(p)`: the account holding what is left of payment `p` by default (`a-b` → `payment:a_b`)."""
    return "payment:" + payment_id.replace("-", "_")


async def import_payment(
    ctx: StageContext, payment: SourcePayment, metadata: Mapping[str, str], timestamp: str | None
) -> tuple[Money, AccountRef]:
    """Read the payment and import its initial amount into its holding account `H` on ledger `L`.

    `L` is `payment.ledger` or the internal ledger, `H` is `payment.holdingAccount` or `PA(p)`;
    the money comes from `payment.throughAccount`, which may go below zero when `allowOverdraft`
    (`world` needs no overdraft). The import carries the reference `H`, so the Ledger accepts it
    once: when an earlier send already imported into `H` it answers `CONFLICT`, which is success
    here (Q-50: a constant custom `holdingAccount` imports only the first payment).

    Returns:
        The payment's initial amount and asset (the default amount of the send, F7 and F8), and
        the holding account, from which the flow goes on.

    Raises:
        StageFailure: `retrieving payment: <p>: <reason>` when the payment cannot be read, or the
            Ledger's failure (other than `CONFLICT`) of the import.
    """
    try:
        output = await ctx.call(ActivityName.GET_PAYMENT, {"id": payment.id})
    except ActivityFailed as err:
        raise StageFailure(f"retrieving payment: {payment.id}: {err.message}") from err
    money = _initial_money(payment.id, output)
    # The bridge on the holding side is `world`, with no overdraft (§21.2 F7): only the import uses the options.
    holding = AccountRef(payment.holding_account or payment_account(payment.id), payment.ledger or INTERNAL_LEDGER)
    through = payment.through_account
    # The import moves the payment's amount (not the stage amount).
    try:
        await create_transaction(
            ctx, Move(money, metadata, timestamp), holding.ledger, through, holding.id, metadata,
            reference=holding.id, overdraft=payment.allow_overdraft and through != WORLD,
        )
    except ActivityFailed as err:
        if err.code != CONFLICT:
            raise
    return money, holding


def _initial_money(payment_id: str, output: object) -> Money:
    payment = output.get("data") if isinstance(output, Mapping) else None
    if not isinstance(payment, Mapping):
        raise StageFailure(f"retrieving payment: {payment_id}: the answer holds no payment")
    amount, asset = payment.get("initialAmount"), payment.get("asset")
    # exact integers; Payments sends a JSON integer, a decimal string is read exactly too.
    if isinstance(amount, str) and _INTEGER.fullmatch(amount):
        amount = int(amount)
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(asset, str):
        raise StageFailure(f"retrieving payment: {payment_id}: the payment has no integer initialAmount and asset")
    return Money(amount, asset)


async def read_account_metadata(ctx: StageContext, ledger: str, address: str) -> Mapping[str, object] | None:
    """The metadata of a ledger account, read through the Ledger v1 API (`GetAccount`, F3).

    Raises:
        StageFailure: `reading account: <address>: <reason>` when the Ledger refused the read.
    """
    try:
        output = await ctx.call(ActivityName.GET_ACCOUNT, {"ledger": ledger, "id": address})
    except ActivityFailed as err:
        raise StageFailure(f"reading account: {address}: {err.message}") from err
    account = output.get("data") if isinstance(output, Mapping) else None
    metadata = account.get("metadata") if isinstance(account, Mapping) else None
    return metadata if isinstance(metadata, Mapping) else None


def destination_account(metadata: Mapping[str, object] | None, key: str) -> str:
    """`LOOKUP`: the PSP's destination account id stored under `key` in an account's or wallet's metadata.

    Args:
        metadata: the metadata of the source account (F3) or wallet (F5); None reads as `{}`.
        key: `destination.payment.metadata` (default `formanceAccountID`).

    Returns:
        The value; a non-string value is given as its JSON text (`12`, `true`), as the original
        stringifies it.

    Raises:
        StageFailure: `expected '<key>' metadata containing formance account ID` when the key is
            missing, `formance account ID empty` when its value is empty (or null, 0, false).
    """
    if metadata is None or key not in metadata:
        raise StageFailure(f"expected '{key}' metadata containing formance account ID")
    value = metadata[key]
    # The original tests Go's zero value: "", 0, false (and would crash on null).
    if value is None or value == "" or (isinstance(value, (int, float)) and value == 0):
        raise StageFailure("formance account ID empty")
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
