"""The configuration of the `send` stage (spec §6.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from orchestration.stages import _schema as schema


@dataclass(frozen=True, kw_only=True)
class WalletRef:
    """A wallet, by id or by name (exactly one), and one of its balances."""

    ONE_OF: ClassVar[tuple[str, ...]] = ("id", "name")

    id: str = schema.string("ID")
    name: str = schema.string("Name")
    balance: str = schema.string("Balance", default="main", required=True)


@dataclass(frozen=True, kw_only=True)
class LedgerAccount:
    """A ledger account address on a ledger."""

    id: str = schema.string("ID", required=True)
    # `default` here, `main` in the update stage.
    ledger: str = schema.string("Ledger", default="default", required=True)


@dataclass(frozen=True, kw_only=True)
class SourcePayment:
    """A Payments payment whose initial amount is imported into the internal ledger."""

    id: str = schema.string("ID", required=True)


@dataclass(frozen=True, kw_only=True)
class DestinationPayment:
    """A payout through a PSP (only `stripe` runs, checked by the flow)."""

    psp: str = schema.string("PSP")
    # Name of the metadata key holding the Stripe connected-account id.
    metadata: str = schema.string("Metadata", default="formanceAccountID")
    # `"${x}"` with `x` undefined is an error even when the workflow is created.
    waiting_validation: bool = schema.boolean("WaitingValidation", key="waitingValidation", default=False)
    connector_id: str | None = schema.string("ConnectorID", key="connectorId", optional=True, omit_empty=True)


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


@dataclass(frozen=True, kw_only=True)
class SendConfig:
    """`{"source": …, "destination": …, "amount": …, "metadata": …, "timestamp": …}`."""

    # Non-optional objects: they must be present even when the workflow is created.
    source: Source = schema.nested("Source", Source)
    destination: Destination = schema.nested("Destination", Destination)
    amount: Amount | None = schema.nested("Amount", Amount, optional=True, omit_empty=True)
    metadata: dict[str, str] | None = schema.string_map("Metadata", omit_empty=True)
    timestamp: datetime | None = schema.timestamp("Timestamp", optional=True)
