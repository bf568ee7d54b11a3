"""The nine flows of the `send` stage (spec §6.5.3, FLOWS-2026 §21), chosen by the kinds of source and destination.

| source ↓ / destination → | account | wallet | payment |
|---|---|---|---|
| account | F1 `account_to_account` | F2 `account_to_wallet` | F3 `account_to_payment` |
| wallet  | F4 `wallet_to_account`  | F6 `wallet_to_wallet`  | F5 `wallet_to_payment`  |
| payment | F7 = INGEST + F1        | F8 = INGEST + F2       | F9 refused              |

A move across two ledgers goes out through the source's `throughAccount` on one and in through
the destination's on the other (`world` by default); a move whose source may go below zero
(`allowOverdraft`) is sent as a Numscript program (`_moves.create_transaction`). A payout debits
first, then initiates the transfer through the PSP.

Failures: an activity refused for good raises `ActivityFailed`, whose message (the remote's) becomes
the stage error. The flows' own checks fail with the spec's texts before any call. When the second
call of a two-call move fails for good, the stage error says where the money is (`_two_legs`).
"""

from __future__ import annotations

from orchestration.stages._context import StageContext
from orchestration.stages._errors import StageFailure
from orchestration.stages._timestamp import format_rfc3339
from orchestration.stages.send import _legacy
from orchestration.stages.send._config import (
    Amount,
    Destination,
    DestinationPayment,
    LedgerAccount,
    SendConfig,
    WalletRef,
)
from orchestration.stages.send._moves import (
    MOVE_FROM_LEDGER,
    MOVE_TO_LEDGER,
    WORLD,
    AccountRef,
    Money,
    Move,
    account_place,
    account_subject,
    create_transaction,
    credit_wallet,
    debit_wallet,
    transfer_initiation,
    wallet_place,
    wallet_subject,
    with_entry,
)
from orchestration.stages.send._payments import destination_account, import_payment, read_account_metadata
from orchestration.stages.send._two_legs import funds_at, move_of, moved, second_leg, transfer_to
from orchestration.stages.send._wallets import resolve_paying_wallet, resolve_wallet

AMOUNT_REQUIRED = "amount must be specified"
EMPTY_AMOUNT = "amount.amount must be an integer but resolved to an empty value (undefined variable?)"
PAYMENT_TO_PAYMENT = "send from payment to payment is not supported"
_NO_MEMBER = "send: source and destination must each have exactly one of wallet, account, payment"

TRANSFER_INITIATION_PATCH = "generic-transfer-initiation"
"""The change that made payouts debit first and go through any PSP (the original's versioning marker):
instances recorded before it replay their Stripe calls (`_legacy`)."""


def account_ref(account: LedgerAccount) -> AccountRef:
    return AccountRef(account.id, account.ledger, account.through_account, account.allow_overdraft)


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
        imported, holding = await import_payment(ctx, source.payment, metadata, timestamp)
        # F7, F8: the payment's own amount only when the config has no `amount` object at all.
        move = Move(imported if money is None else money, metadata, timestamp)
        await _to_destination(ctx, move, holding, destination)
        return
    if money is None:
        raise StageFailure(AMOUNT_REQUIRED)
    move = Move(money, metadata, timestamp)
    if source.account is not None:
        src = account_ref(source.account)
        if destination.payment is not None:
            if await ctx.patched(TRANSFER_INITIATION_PATCH):
                await account_to_payment(ctx, move, src, destination.payment)
            else:
                await _legacy.account_to_payment(ctx, move, src, destination.payment)
        else:
            await _to_destination(ctx, move, src, destination)
    elif source.wallet is not None:
        if destination.account is not None:
            await wallet_to_account(ctx, move, source.wallet, account_ref(destination.account))
        elif destination.wallet is not None:
            await wallet_to_wallet(ctx, move, source.wallet, destination.wallet)
        elif destination.payment is not None:
            if await ctx.patched(TRANSFER_INITIATION_PATCH):
                await wallet_to_payment(ctx, move, source.wallet, destination.payment)
            else:
                await _legacy.wallet_to_payment(ctx, move, source.wallet, destination.payment)
        else:
            raise StageFailure(_NO_MEMBER)
    else:
        raise StageFailure(_NO_MEMBER)


def _configured_money(amount: Amount | None) -> Money | None:
    """The configured amount, or None when the config has no `amount` object.

    Q-30: `"amount": "${x}"` with `x` undefined leaves a null amount inside a set object. The
    original sends `null` to the Ledger/Wallets (or `<nil>` in a Numscript program), which reject
    it; we fail before any call instead (DESIGN §4), and for payment sources too: a set `amount`
    object never falls back to the payment's.
    """
    if amount is None:
        return None
    if amount.amount is None:
        raise StageFailure(EMPTY_AMOUNT)
    return Money(amount.amount, amount.asset)


async def _to_destination(ctx: StageContext, move: Move, src: AccountRef, destination: Destination) -> None:
    """From a ledger account (F1, F2; F7 and F8 from the payment's holding account) to an account or a wallet."""
    if destination.account is not None:
        await account_to_account(ctx, move, src, account_ref(destination.account))
    elif destination.wallet is not None:
        await account_to_wallet(ctx, move, src, destination.wallet)
    else:
        raise StageFailure(_NO_MEMBER)


# --------------------------------------------------------------------------------------------
# The flows


async def account_to_account(ctx: StageContext, move: Move, src: AccountRef, dst: AccountRef) -> None:
    """F1: one transaction on a shared ledger (Q-48: bridges and overdrafts ignored), else out
    through the source's bridge on one and in through the destination's on the other."""
    m = move.metadata
    if src.ledger == dst.ledger:
        await create_transaction(ctx, move, dst.ledger, src.id, dst.id, m)
        return
    tx_id = await create_transaction(
        ctx, move, src.ledger, src.id, src.through, with_entry(m, MOVE_TO_LEDGER, dst.ledger), overdraft=src.overdraft
    )
    await second_leg(
        moved(move.money, account_place(src.id, src.ledger), account_place(src.through, src.ledger), tx_id),
        move_of(account_place(dst.through, dst.ledger), account_place(dst.id, dst.ledger)),
        _into(ctx, move, dst, with_entry(m, MOVE_FROM_LEDGER, src.ledger)),
    )


async def account_to_wallet(ctx: StageContext, move: Move, src: AccountRef, dst: WalletRef) -> None:
    """F2: credit the wallet from the account on a shared ledger, else out through the source's
    bridge first, and credit from the account of that name on the wallet's ledger (Q-53)."""
    m = move.metadata
    wallet = await resolve_wallet(ctx, dst.id, dst.name)
    if wallet.ledger == src.ledger:
        await credit_wallet(ctx, move, wallet.id, dst.balance, [account_subject(src.id)], m)
        return
    tx_id = await create_transaction(
        ctx, move, src.ledger, src.id, src.through, with_entry(m, MOVE_TO_LEDGER, wallet.ledger),
        overdraft=src.overdraft,
    )
    await second_leg(
        moved(move.money, account_place(src.id, src.ledger), account_place(src.through, src.ledger), tx_id),
        move_of(account_place(src.through, wallet.ledger), wallet_place(wallet.id, wallet.ledger, dst.balance)),
        credit_wallet(
            ctx, move, wallet.id, dst.balance, [account_subject(src.through)],
            with_entry(m, MOVE_FROM_LEDGER, src.ledger),
        ),
    )


async def account_to_payment(ctx: StageContext, move: Move, src: AccountRef, dst: DestinationPayment) -> None:
    """F3: debit the account to its bridge, then pay out to the PSP account named in its metadata."""
    target = destination_account(await read_account_metadata(ctx, src.ledger, src.id), dst.metadata)
    # The overdraft clause whenever asked, even towards `world` (§21.2 F3).
    tx_id = await create_transaction(ctx, move, src.ledger, src.id, src.through, move.metadata,
                                     overdraft=src.overdraft)
    debited = moved(move.money, account_place(src.id, src.ledger), account_place(src.through, src.ledger), tx_id,
                    verb="debited")
    await _pay_out(ctx, move, debited, target, dst, funds_at(src.through, src.ledger))


async def wallet_to_account(ctx: StageContext, move: Move, src: WalletRef, dst: AccountRef) -> None:
    """F4: debit the wallet straight into the account on a shared ledger, else out to `world` and in
    through the destination's bridge."""
    m = move.metadata
    wallet = await resolve_wallet(ctx, src.id, src.name)
    if wallet.ledger == dst.ledger:
        # Q-17 fixed: `m` is `{}` when the stage has no metadata, never null.
        await debit_wallet(ctx, move, wallet.id, src.balance, account_subject(dst.id), m)
        return
    await debit_wallet(ctx, move, wallet.id, src.balance, None, with_entry(m, MOVE_TO_LEDGER, dst.ledger))
    await second_leg(
        moved(move.money, wallet_place(wallet.id, wallet.ledger, src.balance), account_place(WORLD, wallet.ledger)),
        move_of(account_place(dst.through, dst.ledger), account_place(dst.id, dst.ledger)),
        _into(ctx, move, dst, with_entry(m, MOVE_FROM_LEDGER, wallet.ledger)),
    )


async def wallet_to_payment(ctx: StageContext, move: Move, src: WalletRef, dst: DestinationPayment) -> None:
    """F5: debit the wallet (to `world`), then pay out to the PSP account named in its metadata."""
    wallet = await resolve_paying_wallet(ctx, src.id, src.name)
    target = destination_account(wallet.metadata, dst.metadata)
    await debit_wallet(ctx, move, wallet.id, src.balance, None, move.metadata)
    debited = moved(move.money, wallet_place(wallet.id, wallet.ledger, src.balance),
                    account_place(WORLD, wallet.ledger), verb="debited")
    await _pay_out(ctx, move, debited, target, dst, funds_at(WORLD, wallet.ledger))


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
    await second_leg(
        moved(move.money, wallet_place(source.id, source.ledger, src.balance), account_place(WORLD, source.ledger)),
        move_of(account_place(WORLD, target.ledger), wallet_place(target.id, target.ledger, dst.balance)),
        credit_wallet(ctx, move, target.id, dst.balance, None, with_entry(m, MOVE_FROM_LEDGER, source.ledger)),
    )


async def _pay_out(
    ctx: StageContext, move: Move, debited: str, target: str, dst: DestinationPayment, funds: str
) -> None:
    """The transfer after a payout's debit (F3, F5): refused for good, the stage says what was
    `debited` and where the `funds` now are."""
    await second_leg(debited, transfer_to(dst.psp, target), transfer_initiation(ctx, move, target, dst),
                     refused="was refused", funds=funds)


async def _into(ctx: StageContext, move: Move, dst: AccountRef, metadata: dict[str, str]) -> int | None:
    """The leg into `dst` on its ledger, from its bridge; the bridge may go below zero when the
    destination allows it and it is not `world` (§21.2)."""
    return await create_transaction(
        ctx, move, dst.ledger, dst.through, dst.id, metadata, overdraft=dst.overdraft and dst.through != WORLD
    )
