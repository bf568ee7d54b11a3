"""The nine flows of the `send` stage (spec §6.5.3), chosen by the kinds of source and destination.

| source ↓ / destination → | account | wallet | payment |
|---|---|---|---|
| account | F1 `account_to_account` | F2 `account_to_wallet` | F3 `account_to_payment` |
| wallet  | F4 `wallet_to_account`  | F6 `wallet_to_wallet`  | F5 `wallet_to_payment`  |
| payment | F7 = SAVE_PAYMENT + F1  | F8 = SAVE_PAYMENT + F2 | F9 refused |

Failures: an activity refused for good raises `ActivityFailed`, whose message (the remote's) becomes
the stage error. The flows' own checks fail with the spec's texts before any call.

Better than the original (DESIGN §4): a move across two ledgers, or a payout followed by its ledger
entry, takes two calls. When the second fails for good, the first has already happened and is not
undone, so the stage error says what was done and where the money now is:

    moved 100 EUR/2 from foo@l1 to world@l1 (transaction 12), but the move from world@l2 to bar@l2 failed: <remote>
    initiated a Stripe transfer of 100 USD/2 to connected account acct_1, but the move from foo@l1 to world@l1
      failed: <remote>
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

from orchestration.stages._context import StageContext
from orchestration.stages._errors import ActivityFailed, StageFailure
from orchestration.stages._timestamp import format_rfc3339
from orchestration.stages.send._config import Amount, Destination, DestinationPayment, SendConfig, WalletRef
from orchestration.stages.send._moves import (
    INTERNAL_LEDGER,
    MOVE_FROM_LEDGER,
    MOVE_TO_LEDGER,
    WORLD,
    Money,
    Move,
    account_place,
    account_subject,
    create_transaction,
    credit_wallet,
    debit_wallet,
    stripe_transfer,
    wallet_place,
    wallet_subject,
    with_entry,
)
from orchestration.stages.send._payments import (
    connected_account,
    payment_account,
    read_account_metadata,
    require_stripe,
    save_payment,
)
from orchestration.stages.send._wallets import resolve_wallet

AMOUNT_REQUIRED = "amount must be specified"
EMPTY_AMOUNT = "amount.amount must be an integer but resolved to an empty value (undefined variable?)"
PAYMENT_TO_PAYMENT = "send from payment to payment is not supported"
_NO_MEMBER = "send: source and destination must each have exactly one of wallet, account, payment"


@dataclass(frozen=True)
class AccountRef:
    """A ledger account: its address on a ledger."""

    id: str
    ledger: str


async def run_send(ctx: StageContext, cfg: SendConfig) -> None:
    """Run the flow that the config's source and destination select.

    Args:
        ctx: the running stage; every call goes through `ctx.call`.
        cfg: a resolved and validated send config.

    Raises:
        StageFailure: the flow's own checks, a two-leg move half done, or an `ActivityFailed`.
    """
    source, destination = cfg.source, cfg.destination
    if source.payment is not None and destination.payment is not None:
        raise StageFailure(PAYMENT_TO_PAYMENT)  # F9
    money = _configured_money(cfg.amount)
    metadata = dict(cfg.metadata or {})  # `m`: `{}` when absent
    # a timestamp that interpolated to "" is set, to the zero date, and sent as such.
    timestamp = None if cfg.timestamp is None else format_rfc3339(cfg.timestamp)
    if source.payment is not None:
        saved = await save_payment(ctx, source.payment.id, metadata, timestamp)
        # F7, F8: the payment's own amount only when the config has no `amount` object at all.
        move = Move(saved if money is None else money, metadata, timestamp)
        await _to_destination(ctx, move, AccountRef(payment_account(source.payment.id), INTERNAL_LEDGER), destination)
        return
    if money is None:
        raise StageFailure(AMOUNT_REQUIRED)
    move = Move(money, metadata, timestamp)
    if source.account is not None:
        src = AccountRef(source.account.id, source.account.ledger)
        if destination.payment is not None:
            await account_to_payment(ctx, move, src, destination.payment)
        else:
            await _to_destination(ctx, move, src, destination)
    elif source.wallet is not None:
        if destination.account is not None:
            await wallet_to_account(
                ctx, move, source.wallet, AccountRef(destination.account.id, destination.account.ledger)
            )
        elif destination.wallet is not None:
            await wallet_to_wallet(ctx, move, source.wallet, destination.wallet)
        elif destination.payment is not None:
            await wallet_to_payment(ctx, move, source.wallet, destination.payment)
        else:
            raise StageFailure(_NO_MEMBER)
    else:
        raise StageFailure(_NO_MEMBER)


def _configured_money(amount: Amount | None) -> Money | None:
    """The configured amount, or None when the config has no `amount` object.

    Q-30: `"amount": "${x}"` with `x` undefined leaves a null amount inside a set object. The
    original sends `null` to the Ledger/Wallets, which reject it; we fail before any call instead
    (DESIGN §4), and for payment sources too: a set `amount` object never falls back to the payment's.
    """
    if amount is None:
        return None
    if amount.amount is None:
        raise StageFailure(EMPTY_AMOUNT)
    return Money(amount.amount, amount.asset)


async def _to_destination(ctx: StageContext, move: Move, src: AccountRef, destination: Destination) -> None:
    """From a ledger account (F1, F2; F7 and F8 from the payment's account) to an account or a wallet."""
    if destination.account is not None:
        await account_to_account(ctx, move, src, AccountRef(destination.account.id, destination.account.ledger))
    elif destination.wallet is not None:
        await account_to_wallet(ctx, move, src, destination.wallet)
    else:
        raise StageFailure(_NO_MEMBER)


# --------------------------------------------------------------------------------------------
# The flows


async def account_to_account(ctx: StageContext, move: Move, src: AccountRef, dst: AccountRef) -> None:
    """F1: one transaction on a shared ledger, else out through `world` on one and in on the other."""
    m = move.metadata
    if src.ledger == dst.ledger:
        await create_transaction(ctx, move, dst.ledger, src.id, dst.id, m)
        return
    tx_id = await create_transaction(ctx, move, src.ledger, src.id, WORLD, with_entry(m, MOVE_TO_LEDGER, dst.ledger))
    await _second_leg(
        _moved(move.money, account_place(src.id, src.ledger), account_place(WORLD, src.ledger), tx_id),
        _move_of(account_place(WORLD, dst.ledger), account_place(dst.id, dst.ledger)),
        create_transaction(ctx, move, dst.ledger, WORLD, dst.id, with_entry(m, MOVE_FROM_LEDGER, src.ledger)),
    )


async def account_to_wallet(ctx: StageContext, move: Move, src: AccountRef, dst: WalletRef) -> None:
    """F2: credit the wallet from the account on a shared ledger, else out through `world` first."""
    m = move.metadata
    wallet = await resolve_wallet(ctx, dst.id, dst.name)
    if wallet.ledger == src.ledger:
        await credit_wallet(ctx, move, wallet.id, dst.balance, [account_subject(src.id)], m)
        return
    tx_id = await create_transaction(ctx, move, src.ledger, src.id, WORLD, with_entry(m, MOVE_TO_LEDGER, wallet.ledger))
    await _second_leg(
        _moved(move.money, account_place(src.id, src.ledger), account_place(WORLD, src.ledger), tx_id),
        _move_of(account_place(WORLD, wallet.ledger), wallet_place(wallet.id, wallet.ledger, dst.balance)),
        credit_wallet(
            ctx, move, wallet.id, dst.balance, [account_subject(WORLD)], with_entry(m, MOVE_FROM_LEDGER, src.ledger)
        ),
    )


async def account_to_payment(ctx: StageContext, move: Move, src: AccountRef, dst: DestinationPayment) -> None:
    """F3: pay out to the Stripe account named in the account's metadata, then book it to `world`."""
    require_stripe(dst.psp)
    target = connected_account(await read_account_metadata(ctx, src.ledger, src.id), dst.metadata)
    await stripe_transfer(ctx, move, target, waiting_validation=dst.waiting_validation, connector_id=dst.connector_id)
    await _second_leg(
        _transferred(move.money, target),
        _move_of(account_place(src.id, src.ledger), account_place(WORLD, src.ledger)),
        create_transaction(ctx, move, src.ledger, src.id, WORLD, move.metadata),
    )


async def wallet_to_account(ctx: StageContext, move: Move, src: WalletRef, dst: AccountRef) -> None:
    """F4: debit the wallet straight into the account on a shared ledger, else through `world`."""
    m = move.metadata
    wallet = await resolve_wallet(ctx, src.id, src.name)
    if wallet.ledger == dst.ledger:
        # Q-17 fixed: `m` is `{}` when the stage has no metadata, never null.
        await debit_wallet(ctx, move, wallet.id, src.balance, account_subject(dst.id), m)
        return
    await debit_wallet(ctx, move, wallet.id, src.balance, None, with_entry(m, MOVE_TO_LEDGER, dst.ledger))
    await _second_leg(
        _moved(move.money, wallet_place(wallet.id, wallet.ledger, src.balance), account_place(WORLD, wallet.ledger)),
        _move_of(account_place(WORLD, dst.ledger), account_place(dst.id, dst.ledger)),
        create_transaction(ctx, move, dst.ledger, WORLD, dst.id, with_entry(m, MOVE_FROM_LEDGER, wallet.ledger)),
    )


async def wallet_to_payment(ctx: StageContext, move: Move, src: WalletRef, dst: DestinationPayment) -> None:
    """F5: pay out to the Stripe account named in the wallet's metadata, then debit the wallet."""
    require_stripe(dst.psp)
    try:
        wallet = await resolve_wallet(ctx, src.id, src.name)
    except StageFailure as err:
        # §6.5.3 F5: every RESOLVE failure is prefixed. The original prints the (possibly empty)
        # id; we name the wallet by its name when it is referenced by name.
        raise StageFailure(f"reading account: {src.id or src.name}: {err.message}") from err
    target = connected_account(wallet.metadata, dst.metadata)
    await stripe_transfer(ctx, move, target, waiting_validation=dst.waiting_validation, connector_id=dst.connector_id)
    await _second_leg(
        _transferred(move.money, target),
        _move_of(wallet_place(wallet.id, wallet.ledger, src.balance), account_place(WORLD, wallet.ledger)),
        debit_wallet(ctx, move, wallet.id, src.balance, None, move.metadata),
    )


async def wallet_to_wallet(ctx: StageContext, move: Move, src: WalletRef, dst: WalletRef) -> None:
    """F6: one credit between wallets of a shared ledger, else a debit to `world` and a credit."""
    m = move.metadata
    source = await resolve_wallet(ctx, src.id, src.name)
    target = await resolve_wallet(ctx, dst.id, dst.name)
    if source.ledger == target.ledger:
        # Q-16 (kept): taken from the source wallet's `main` balance, whatever `source.wallet.balance` says.
        await credit_wallet(ctx, move, target.id, dst.balance, [wallet_subject(source.id, "main")], m)
        return
    await debit_wallet(ctx, move, source.id, src.balance, None, with_entry(m, MOVE_TO_LEDGER, target.ledger))
    await _second_leg(
        _moved(move.money, wallet_place(source.id, source.ledger, src.balance), account_place(WORLD, source.ledger)),
        _move_of(account_place(WORLD, target.ledger), wallet_place(target.id, target.ledger, dst.balance)),
        credit_wallet(ctx, move, target.id, dst.balance, None, with_entry(m, MOVE_FROM_LEDGER, source.ledger)),
    )


# --------------------------------------------------------------------------------------------
# Two-leg failures


async def _second_leg(done: str, pending: str, leg: Awaitable[object]) -> None:
    """Run the second call of a two-call move; if it fails for good, say what the first one did.

    The first leg is not undone: undoing it would be a third move that can fail too, and the
    operator must decide. The message ends with the remote's own message.
    """
    try:
        await leg
    except ActivityFailed as err:
        raise StageFailure(f"{done}, but {pending} failed: {err.message}") from err


def _moved(money: Money, origin: str, destination: str, tx_id: int | None = None) -> str:
    text = f"moved {money} from {origin} to {destination}"
    return text if tx_id is None else f"{text} (transaction {tx_id})"


def _transferred(money: Money, connected: str) -> str:
    return f"initiated a Stripe transfer of {money} to connected account {connected}"


def _move_of(origin: str, destination: str) -> str:
    return f"the move from {origin} to {destination}"
