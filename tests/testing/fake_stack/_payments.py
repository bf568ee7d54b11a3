"""The fake Payments service: `GET /api/payments/payments/{id}` and `POST /api/payments/transfer-initiations`.

From formancehq/payments internal/api/v2 (the API served under /api/payments/…): handler_payments_get.go,
handler_transfer_initiations_create.go, errors.go. A payment answers `{"data": payment}` with the fields of the
SDK's `Payment` model; an unknown one → 404 `NOT_FOUND`. Creating a transfer initiation answers 200 (the handler
encodes without WriteHeader) `{"data": transferInitiation}`; a body that does not decode → 400
`MISSING_OR_INVALID_BODY`; a missing reference/amount/asset or a bad type → 400 `VALIDATION`; a second
initiation with the same reference and connector → 400 `CONFLICT` (plain INSERT on the primary key).

Deviation: real payment ids are base64 JSON (a malformed one → 400 `INVALID_ID`); the fake accepts any id.
"""

from __future__ import annotations

import copy
import threading
import uuid

from starlette.requests import Request
from starlette.responses import Response

from ._common import JSON, Answer, ServiceError, format_time, is_int, now, parse_json


class PaymentBook:
    """Payments and recorded transfer initiations. Every method must be called with `lock` held."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.payments: dict[str, dict[str, JSON]] = {}
        self.initiations: list[dict[str, JSON]] = []  # request bodies, in arrival order
        self._initiation_ids: set[tuple[str, str]] = set()

    def create(self, payment_id: str | None, amount: int, asset: str, fields: dict[str, JSON]) -> str:
        payment_id = payment_id or str(uuid.uuid4())
        payment: dict[str, JSON] = {
            "id": payment_id, "reference": payment_id, "type": "PAY-IN", "provider": "STRIPE",
            "connectorID": "stripe", "status": "SUCCEEDED", "amount": amount, "initialAmount": amount,
            "scheme": "visa", "asset": asset, "createdAt": format_time(now()), "sourceAccountID": "",
            "destinationAccountID": "", "adjustments": [], "metadata": {}, "raw": None,
        }
        payment.update(fields)
        self.payments[payment_id] = payment
        return payment_id

    async def get_payment(self, request: Request) -> Response:
        """GET /api/payments/payments/{payment_id}."""
        with self.lock:
            payment = self.payments.get(request.path_params["payment_id"])
            if payment is None:
                # storage.ErrNotFound wrapped by the store; exact wording unverified.
                answer = ServiceError(404, "NOT_FOUND", "failed to get payment: not found").answer()
            else:
                answer = Answer(200, {"data": copy.deepcopy(payment)})
        return answer.to_response()

    async def create_transfer_initiation(self, request: Request) -> Response:
        """POST /api/payments/transfer-initiations (no idempotency header: the reference identifies it)."""
        raw = await request.body()
        try:
            body = parse_json(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as err:
            return ServiceError(400, "MISSING_OR_INVALID_BODY", str(err)).answer().to_response()
        try:
            _validate(body)
            with self.lock:
                ident = (str(body.get("connectorID") or ""), str(body["reference"]))
                if ident in self._initiation_ids:
                    raise ServiceError(400, "CONFLICT", "failed to insert payment initiations: value already exists")
                self._initiation_ids.add(ident)
                self.initiations.append(copy.deepcopy(body))
            created = format_time(now())
            data = {"id": f"{ident[1]}:{ident[0]}", "reference": body["reference"], "createdAt": created,
                    "scheduledAt": body.get("scheduledAt") or created, "description": body.get("description", ""),
                    "sourceAccountID": body.get("sourceAccountID", ""),
                    "destinationAccountID": body.get("destinationAccountID", ""), "connectorID": ident[0],
                    "provider": body.get("provider", ""), "type": body["type"], "amount": body["amount"],
                    "initialAmount": body["amount"], "asset": body["asset"], "metadata": body.get("metadata"),
                    # Status after creation: guessed from the API's status list (the real one depends on
                    # the connector's progress).
                    "status": "VALIDATED" if body.get("validated") else "WAITING_FOR_VALIDATION", "error": ""}
            answer = Answer(200, {"data": data})
        except ServiceError as err:
            answer = err.answer()
        return answer.to_response()


def _validate(body: dict[str, JSON]) -> None:
    """CreateTransferInitiationRequest.Validate (connectorID is not required here: the orchestration omits it)."""
    if not body.get("reference"):
        raise ServiceError(400, "VALIDATION", "reference is required")
    if body.get("type") not in ("TRANSFER", "PAYOUT"):
        raise ServiceError(400, "VALIDATION", f"invalid type: {body.get('type')}")
    if not is_int(body.get("amount")):
        raise ServiceError(400, "VALIDATION", "amount is required")
    if not body.get("asset"):
        raise ServiceError(400, "VALIDATION", "asset is required")
