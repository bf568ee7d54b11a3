"""Moves made of two calls, and what the stage says when the second fails for good.

The first call is not undone: undoing it would be a third move that can fail too, and the
operator must decide. So the stage error says what was done and where the money now is, then
the remote's own message:

    moved 100 EUR/2 from foo@l1 to world@l1 (transaction 12), but the move from world@l2 to bar@l2 failed: <remote>
    debited 500 EUR/2 from users:1@main to liabilities:payouts-pending@main (transaction 7), but the transfer
      to wise recipient-789 was refused: <remote>; the funds are in liabilities:payouts-pending@main
    debited 100 USD from wallet w1@l1 (balance main) to world@l1, but the transfer to stripe acct_1 was
      refused: <remote>; the funds have left l1 (to world@l1) and were not paid out
"""

from __future__ import annotations

from collections.abc import Awaitable

from orchestration.stages._errors import ActivityFailed, StageFailure
from orchestration.stages.send._moves import WORLD, Money, account_place


async def second_leg(done: str, pending: str, leg: Awaitable[object], *, refused: str = "failed",
                     funds: str | None = None) -> None:
    """Run the second call of a two-call move; if it fails for good, say what the first one did.

    Args:
        done: what the first call did (`moved(...)`, `debited(...)`).
        pending: what the second was to do (`move_of(...)`, `transfer_to(...)`).
        leg: the second call.
        refused: the verb of its failure (`failed`, `was refused`).
        funds: where the money now is (`funds_at`), when `done` does not make it plain.
    """
    try:
        await leg
    except ActivityFailed as err:
        where = f"; {funds}" if funds else ""
        raise StageFailure(f"{done}, but {pending} {refused}: {err.message}{where}") from err


def moved(money: Money, origin: str, destination: str, tx_id: int | None = None, *, verb: str = "moved") -> str:
    text = f"{verb} {money} from {origin} to {destination}"
    return text if tx_id is None else f"{text} (transaction {tx_id})"


def move_of(origin: str, destination: str) -> str:
    return f"the move from {origin} to {destination}"


def funds_at(account: str, ledger: str) -> str:
    """Where debited money waits: in a bridge account, or, debited to `world`, nowhere on the ledger any more."""
    if account == WORLD:
        return f"the funds have left {ledger} (to world@{ledger}) and were not paid out"
    return f"the funds are in {account_place(account, ledger)}"


def transfer_to(psp: str, destination_account: str) -> str:
    return f"the transfer to {psp or 'the PSP'} {destination_account}"
