"""The activity catalogue (spec §7.2, §7.3): from an activity's input, as stage history
shows it, to the HTTP call, and from the answer to the activity's output."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from ._errors import CONFLICT, StackError
from ._http import StackClient

log = logging.getLogger(__name__)

TRANSFER_TYPES = ("TRANSFER", "PAYOUT")
"""The `type`s of a transfer initiation, as Payments takes them (upper case)."""


class ActivityName(StrEnum):
    """The activities of the catalogue, named as stage history shows them (spec §7.3)."""

    GET_ACCOUNT = "GetAccount"
    CREATE_TRANSACTION = "CreateTransaction"
    ADD_ACCOUNT_METADATA = "AddAccountMetadata"
    GET_PAYMENT = "GetPayment"
    STRIPE_TRANSFER = "StripeTransfer"
    CREATE_TRANSFER_INITIATION = "CreateTransferInitiation"
    GET_WALLET = "GetWallet"
    LIST_WALLETS = "ListWallets"
    CREDIT_WALLET = "CreditWallet"
    DEBIT_WALLET = "DebitWallet"


@dataclass(frozen=True)
class ActivityKey:
    """Where an activity sits: the same on every retry and after a crash (DESIGN §3)."""

    instance_id: str
    stage: int
    sequence: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.instance_id}-{self.stage}-{self.sequence}"

    @property
    def transfer_reference(self) -> str:
        # §7.1, §22.2: transfer initiations carry no idempotency key, this deterministic reference instead.
        return f"{self.instance_id}-{self.stage}{self.sequence}"


Activity = Callable[[StackClient, dict[str, Any], ActivityKey], Awaitable[Any]]


def _segment(value: str) -> str:
    # "." and ".." would be read as dot segments (RFC 3986 §5.2.4): the call would reach another resource.
    if value in (".", ".."):
        raise StackError(400, "VALIDATION", f"'{value}' cannot name a ledger, an account, a wallet or a payment")
    return quote(value, safe=":")


async def get_account(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    # Ledger v1 read, as the original (§7.2).
    path = f"/api/ledger/{_segment(request['ledger'])}/accounts/{_segment(request['id'])}"
    answer = await client.request("GET", path)
    return {"data": answer.get("data") if isinstance(answer, dict) else None}


async def create_transaction(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    path = f"/api/ledger/v2/{_segment(request['Ledger'])}/transactions"
    answer = await client.request("POST", path, body=request["Data"], idempotency_key=key.idempotency_key)
    transaction = dict(answer["data"]) if isinstance(answer, dict) and isinstance(answer.get("data"), dict) else {}
    # shown in the Ledger v1 shape, a list with `txid`.
    transaction.setdefault("txid", transaction.get("id"))
    return {"data": [transaction]}


async def add_account_metadata(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    path = f"/api/ledger/v2/{_segment(request['ledger'])}/accounts/{_segment(request['account'])}/metadata"
    await client.request("POST", path, body=request["metadata"], idempotency_key=key.idempotency_key)
    return None


async def get_payment(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    answer = await client.request("GET", f"/api/payments/payments/{_segment(request['id'])}")
    return {"data": answer.get("data") if isinstance(answer, dict) else None}


async def stripe_transfer(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    body: dict[str, Any] = {
        "amount": request["amount"],
        "asset": request["asset"],
        "description": "Stripe Transfer",
        "destinationAccountID": request["destination"],
        "provider": "STRIPE",
        "reference": key.transfer_reference,
        "scheduledAt": "0001-01-01T00:00:00Z",
        "sourceAccountID": "",
        "type": "TRANSFER",
        "validated": not request.get("waitingValidation", False),
    }
    if request.get("connectorID"):
        body["connectorID"] = request["connectorID"]
    await _initiate(client, body, key)
    return None


async def create_transfer_initiation(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    """A payout through any PSP (FLOWS-2026 §22.2), exactly once without an idempotency key."""
    kind = str(request["type"]).upper()
    if kind not in TRANSFER_TYPES:  # a guard: stage configurations are refused with such a type before any call
        raise StackError(400, "VALIDATION", "invalid transfer type (must be TRANSFER or PAYOUT)")
    psp = str(request.get("provider") or "")
    body: dict[str, Any] = {"amount": request["amount"], "asset": request["asset"]}
    if request.get("connectorID"):
        body["connectorID"] = request["connectorID"]
    body["description"] = f"{psp} {kind}"  # " TRANSFER" without a psp
    body["destinationAccountID"] = request["destination"]
    if request.get("metadata"):
        body["metadata"] = request["metadata"]
    if psp:
        body["provider"] = psp.upper()
    body["reference"] = key.transfer_reference
    body["scheduledAt"] = "0001-01-01T00:00:00Z"
    body["sourceAccountID"] = request.get("source") or ""
    body["type"] = kind
    body["validated"] = not request.get("waitingValidation", False)
    await _initiate(client, body, key)
    return None


async def _initiate(client: StackClient, body: dict[str, Any], key: ActivityKey) -> None:
    """Create the transfer initiation, once: the `reference` is the same on every attempt, so
    Payments refuses a second one as a duplicate, which means an earlier attempt created it
    (its answer lost to a timeout or a crash)."""
    try:
        await client.request("POST", "/api/payments/transfer-initiations", body=body)
    except StackError as err:
        # Payments' answer to a second initiation with the same reference: 400 `creating transfer
        # initiation: duplicate key value`.
        if err.code != CONFLICT:
            raise
        log.info("transfer initiation %s already exists: created by an attempt whose answer was lost",
                 key.transfer_reference)


async def get_wallet(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    answer = await client.request("GET", f"/api/wallets/wallets/{_segment(request['id'])}")
    return {"data": answer.get("data") if isinstance(answer, dict) else None}


async def list_wallets(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    answer = await client.request("GET", "/api/wallets/wallets", params={"name": request["name"], "pageSize": "15"})
    return {"cursor": answer.get("cursor") if isinstance(answer, dict) else None}


async def credit_wallet(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    path = f"/api/wallets/wallets/{_segment(request['id'])}/credit"
    await client.request("POST", path, body=request["data"], idempotency_key=key.idempotency_key)
    return None


async def debit_wallet(client: StackClient, request: dict[str, Any], key: ActivityKey) -> Any:
    path = f"/api/wallets/wallets/{_segment(request['id'])}/debit"
    await client.request("POST", path, body=request["data"], idempotency_key=key.idempotency_key)
    return None  # Q-43 fixed: nothing to show, rather than a crash


ACTIVITIES: Mapping[ActivityName, Activity] = {
    ActivityName.GET_ACCOUNT: get_account,
    ActivityName.CREATE_TRANSACTION: create_transaction,
    ActivityName.ADD_ACCOUNT_METADATA: add_account_metadata,
    ActivityName.GET_PAYMENT: get_payment,
    ActivityName.STRIPE_TRANSFER: stripe_transfer,
    ActivityName.CREATE_TRANSFER_INITIATION: create_transfer_initiation,
    ActivityName.GET_WALLET: get_wallet,
    ActivityName.LIST_WALLETS: list_wallets,
    ActivityName.CREDIT_WALLET: credit_wallet,
    ActivityName.DEBIT_WALLET: debit_wallet,
}
