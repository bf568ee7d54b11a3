"""Payments in the `send` stage (spec §6.5.3): importing a source payment, locating a payout's destination.

* `save_payment` is `SAVE_PAYMENT(p)`: read the payment, then import its whole initial amount into
  the internal ledger under `PA(p)`, once.
* `require_stripe`, `read_account_metadata` and `connected_account` find where a payout goes
  (flows F3 and F5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from orchestration.stack import ActivityName
from orchestration.stages._context import StageContext
from orchestration.stages._errors import ActivityFailed, StageFailure
from orchestration.stages.send._moves import INTERNAL_LEDGER, WORLD, Money, Move, create_transaction

_INTEGER = re.compile(r"[+-]?[0-9]+")


def payment_account(payment_id: str) -> str:
    """`PA(p)`: the internal-ledger account holding what is left of payment `p` (`a-b` → `payment:a_b`)."""
    return "payment:" + payment_id.replace("-", "_")


async def save_payment(ctx: StageContext, payment_id: str, metadata: Mapping[str, str], timestamp: str | None) -> Money:
    """Read payment `payment_id` and import its initial amount into `PA(p)` on the internal ledger.

    The import transaction carries the reference `PA(p)`, so the Ledger accepts it once: when a
    previous send already imported the payment it answers `CONFLICT`, which is success here.

    Args:
        ctx: the running stage.
        payment_id: the Payments payment id.
        metadata: `m`, the stage metadata, set on the import transaction.
        timestamp: `ts`, or None.

    Returns:
        The payment's initial amount and asset: the default amount of the send (F7, F8).

    Raises:
        StageFailure: `retrieving payment: <p>: <reason>` when the payment cannot be read, or the
            Ledger's failure (other than `CONFLICT`) of the import.
    """
    try:
        output = await ctx.call(ActivityName.GET_PAYMENT, {"id": payment_id})
    except ActivityFailed as err:
        raise StageFailure(f"retrieving payment: {payment_id}: {err.message}") from err
    money = _initial_money(payment_id, output)
    account = payment_account(payment_id)
    # The import moves the payment's amount (not the stage amount) and always comes from world.
    import_move = Move(money, metadata, timestamp)
    try:
        await create_transaction(ctx, import_move, INTERNAL_LEDGER, WORLD, account, metadata, reference=account)
    except ActivityFailed as err:
        if err.code != "CONFLICT":
            raise
    return money


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


def require_stripe(psp: str) -> None:
    """Fail unless the payout goes through Stripe, the only PSP the original supports (F3, F5).

    Raises:
        StageFailure: `only stripe actually supported`.
    """
    if psp != "stripe":
        raise StageFailure("only stripe actually supported")


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


def connected_account(metadata: Mapping[str, object] | None, key: str) -> str:
    """The Stripe connected-account id stored under `key` in an account's or wallet's metadata.

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
