"""Payouts as instances recorded before transfer initiations run them: Stripe only, the transfer first.

An instance that was paying out when the service was upgraded replays its recorded calls; the
engine tells the flow which way it started (`StageContext.patched`), and such an instance goes on
here, with the calls it made (spec §6.5.3 F3, F5 before FLOWS-2026). New instances never come here.
"""

from __future__ import annotations

from orchestration.stages._context import StageContext
from orchestration.stages._errors import StageFailure
from orchestration.stages.send._config import DestinationPayment, WalletRef
from orchestration.stages.send._moves import (
    WORLD,
    AccountRef,
    Move,
    account_place,
    create_transaction,
    debit_wallet,
    stripe_transfer,
    wallet_place,
)
from orchestration.stages.send._payments import destination_account, read_account_metadata
from orchestration.stages.send._two_legs import move_of, second_leg
from orchestration.stages.send._wallets import resolve_paying_wallet

ONLY_STRIPE = "only stripe actually supported"


async def account_to_payment(ctx: StageContext, move: Move, src: AccountRef, dst: DestinationPayment) -> None:
    """F3: pay out to the Stripe account named in the account's metadata, then book it to `world`."""
    _require_stripe(dst.psp)
    target = destination_account(await read_account_metadata(ctx, src.ledger, src.id), dst.metadata)
    await stripe_transfer(ctx, move, target, waiting_validation=dst.waiting_validation, connector_id=dst.connector_id)
    await second_leg(
        _transferred(move, target),
        move_of(account_place(src.id, src.ledger), account_place(WORLD, src.ledger)),
        create_transaction(ctx, move, src.ledger, src.id, WORLD, move.metadata),
    )


async def wallet_to_payment(ctx: StageContext, move: Move, src: WalletRef, dst: DestinationPayment) -> None:
    """F5: pay out to the Stripe account named in the wallet's metadata, then debit the wallet."""
    _require_stripe(dst.psp)
    wallet = await resolve_paying_wallet(ctx, src.id, src.name)
    target = destination_account(wallet.metadata, dst.metadata)
    await stripe_transfer(ctx, move, target, waiting_validation=dst.waiting_validation, connector_id=dst.connector_id)
    await second_leg(
        _transferred(move, target),
        move_of(wallet_place(wallet.id, wallet.ledger, src.balance), account_place(WORLD, wallet.ledger)),
        debit_wallet(ctx, move, wallet.id, src.balance, None, move.metadata),
    )


def _require_stripe(psp: str) -> None:
    if psp != "stripe":
        raise StageFailure(ONLY_STRIPE)


def _transferred(move: Move, connected: str) -> str:
    return f"initiated a Stripe transfer of {move.money} to connected account {connected}"
