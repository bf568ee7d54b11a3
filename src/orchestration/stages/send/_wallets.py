"""`RESOLVE(ref)` of the `send` stage (spec §6.5.2): find the wallet a config refers to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.stack import ActivityName
from orchestration.stages._context import StageContext
from orchestration.stages._errors import StageFailure

WALLET_NOT_FOUND = "wallet not found"
MULTIPLE_WALLETS = "found multiple wallets with the same name"


@dataclass(frozen=True)
class Wallet:
    """What the flows use of a wallet."""

    id: str
    ledger: str
    metadata: Mapping[str, object]


async def resolve_wallet(ctx: StageContext, wallet_id: str, name: str) -> Wallet:
    """Read the wallet with this id, or else the only wallet with this name.

    Args:
        ctx: the running stage.
        wallet_id: the configured id; `""` when the wallet is referenced by name.
        name: the configured name (used only when `wallet_id` is empty).

    Returns:
        The wallet, from `GetWallet` or `ListWallets`.

    Raises:
        StageFailure: `wallet not found` / `found multiple wallets with the same name` (by name), or
            `ActivityFailed` when Wallets refused the read for good.
    """
    if wallet_id != "":
        output = await ctx.call(ActivityName.GET_WALLET, {"id": wallet_id})
        return _wallet(_member(output, "data"), "GetWallet")
    output = await ctx.call(ActivityName.LIST_WALLETS, {"name": name})
    # only the first page is looked at, and it must hold exactly one wallet.
    wallets = _member(_member(output, "cursor"), "data")
    if not isinstance(wallets, list) or not wallets:
        raise StageFailure(WALLET_NOT_FOUND)
    if len(wallets) > 1:
        raise StageFailure(MULTIPLE_WALLETS)
    return _wallet(wallets[0], "ListWallets")


async def resolve_paying_wallet(ctx: StageContext, wallet_id: str, name: str) -> Wallet:
    """`resolve_wallet` for a payout (F5), whose every failure is prefixed `reading account: <wallet>: `.

    The original prints the (possibly empty) id; we name the wallet by its name when it is
    referenced by name.
    """
    try:
        return await resolve_wallet(ctx, wallet_id, name)
    except StageFailure as err:
        raise StageFailure(f"reading account: {wallet_id or name}: {err.message}") from err


def _member(obj: object, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else None


def _wallet(obj: object, activity: str) -> Wallet:
    wallet_id, ledger, metadata = _member(obj, "id"), _member(obj, "ledger"), _member(obj, "metadata")
    if not isinstance(wallet_id, str) or not isinstance(ledger, str):
        # Not a Wallets answer we understand: say so rather than move money on a guess.
        raise StageFailure(f"{activity} answered without a wallet id and ledger")
    if not isinstance(metadata, Mapping):
        metadata = {}
    return Wallet(wallet_id, ledger, {str(key): value for key, value in metadata.items()})
