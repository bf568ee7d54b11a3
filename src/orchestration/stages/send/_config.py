"""The configuration of the `send` stage (spec §6.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from orchestration.stack import TRANSFER_TYPES
from orchestration.stages import _schema as schema
from orchestration.stages._errors import shown


@dataclass(frozen=True, kw_only=True)
class WalletRef:
    """A wallet, by id or by name (exactly one), and one of its balances."""

    ONE_OF: ClassVar[tuple[str, ...]] = ("id", "name")

    id: str = schema.string("ID")
    name: str = schema.string("Name")
    balance: str = schema.string("Balance", default="main", required=True)


def transfer_type_error(value: str) -> str | None:
    """Why a payout's `type` cannot be sent (Q-49 fixed: refused before any money moves)."""
    if value.upper() in TRANSFER_TYPES:
        return None
    return f"invalid transfer type: {shown(value)} (must be TRANSFER or PAYOUT)"


@dataclass(frozen=True, kw_only=True)
class LedgerAccount:
    """A ledger account address on a ledger, and how money crosses to another ledger (FLOWS-2026 §20)."""

    id: str = schema.string("ID", required=True)
    # `default` here, `main` in the update stage.
    ledger: str = schema.string("Ledger", default="default", required=True)
    # The account that stands for the other ledger in a cross-ledger move (`world` by default).
    through_account: str = schema.string("ThroughAccount", key="throughAccount", default="world")
    # a literal, never a variable.
    allow_overdraft: bool = schema.boolean("AllowOverdraft", key="allowOverdraft")


@dataclass(frozen=True, kw_only=True)
class SourcePayment:
    """A Payments payment whose initial amount is imported into a ledger, once (§21.3)."""

    id: str = schema.string("ID", required=True)
    # Empty: the internal ledger and `payment:<id>`, chosen when the stage runs (and not shown).
    ledger: str = schema.string("Ledger", omit_empty=True)
    holding_account: str = schema.string("HoldingAccount", key="holdingAccount", omit_empty=True)
    through_account: str = schema.string("ThroughAccount", key="throughAccount", default="world")
    allow_overdraft: bool = schema.boolean("AllowOverdraft", key="allowOverdraft")


@dataclass(frozen=True, kw_only=True)
class DestinationPayment:
    """A payout through any PSP, by a Payments transfer initiation (§21.4, §22.2)."""

    psp: str = schema.string("PSP")
    type: str = schema.string("Type", default="TRANSFER", check=transfer_type_error)
    source_account: str | None = schema.string("SourceAccount", key="sourceAccount", optional=True, omit_empty=True)
    # Name of the metadata key holding the PSP's destination account id.
    metadata: str = schema.string("Metadata", default="formanceAccountID")
    # `"${x}"` with `x` undefined is an error even when the workflow is created.
    waiting_validation: bool = schema.boolean("WaitingValidation", key="waitingValidation", default=False)
    # `connectorID`, as the upstream documentation spells it, is read too.
    connector_id: str | None = schema.string(
        "ConnectorID", key="connectorId", alias="connectorID", optional=True, omit_empty=True
    )


@dataclass(frozen=True, kw_only=True)
class Source:
    """Where the money comes from: exactly one member, checked at start."""

    ONE_OF: ClassVar[tuple[str, ...]] = ("wallet", "account", "payment")

    wallet: WalletRef | None = schema.nested("Wallet", WalletRef, optional=True, omit_empty=True)
    account: LedgerAccount | None = schema.nested("Account", LedgerAccount, optional=True, omit_empty=True)
    payment: SourcePayment | None = schema.nested("Payment", SourcePayment, optional=True, omit_empty=True)


@dataclass(frozen=True, kw_only=True)
class Destination:
    """Where the money goes: exactly one member, checked at start."""

    ONE_OF: ClassVar[tuple[str, ...]] = ("wallet", "account", "payment")

    wallet: WalletRef | None = schema.nested("Wallet", WalletRef, optional=True, omit_empty=True)
    account: LedgerAccount | None = schema.nested("Account", LedgerAccount, optional=True, omit_empty=True)
    payment: DestinationPayment | None = schema.nested(
        "Payment", DestinationPayment, optional=True, omit_empty=True
    )


@dataclass(frozen=True, kw_only=True)
class Amount:
    """An amount in minor units of `asset` (e.g. `USD/2`)."""

    # exact integer of any size; Q-30: `"${x}"` undefined leaves it None inside a set Amount.
    amount: int | None = schema.big_int("Amount", optional=True)
    asset: str = schema.string("Asset")


# The keys releases up to 0.3.0 ignored, by member: `without_newer_options` drops them.
_NEWER_OPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("source", "account"): ("throughAccount", "allowOverdraft"),
    ("destination", "account"): ("throughAccount", "allowOverdraft"),
    ("source", "payment"): ("ledger", "holdingAccount", "throughAccount", "allowOverdraft"),
    ("destination", "payment"): ("type", "sourceAccount", "connectorID"),
}


def without_newer_options(raw: object) -> dict[str, object] | None:
    """The stage body as releases before the newest send options read it (those keys dropped), or None
    when it holds none of them: an instance recorded then must replay the stage as it ran."""
    if not isinstance(raw, dict):
        return None
    earlier, dropped = dict(raw), False
    for (side, member), keys in _NEWER_OPTIONS.items():
        part = raw.get(side)
        ref = part.get(member) if isinstance(part, dict) else None
        if not isinstance(ref, dict) or not any(key in ref for key in keys):
            continue
        earlier[side] = {**earlier[side], member: {k: v for k, v in ref.items() if k not in keys}}
        dropped = True
    return earlier if dropped else None


@dataclass(frozen=True, kw_only=True)
class SendConfig:
    """`{"source": …, "destination": …, "amount": …, "metadata": …, "timestamp": …}`."""

    # Non-optional objects: they must be present even when the workflow is created.
    source: Source = schema.nested("Source", Source)
    destination: Destination = schema.nested("Destination", Destination)
    amount: Amount | None = schema.nested("Amount", Amount, optional=True, omit_empty=True)
    metadata: dict[str, str] | None = schema.string_map("Metadata", omit_empty=True)
    timestamp: datetime | None = schema.timestamp("Timestamp", optional=True)
