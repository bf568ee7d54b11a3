"""The fake Payments service (Payments v1, the API served under /api/payments): payments, connectors, transfers.

Checked against formancehq/stack before Payments left it (commit b37d1dfa9^, components/payments):
cmd/connectors/internal/api/transfer_initiation.go, …/api/service/transfer_initiation.go, …/api/module.go
(`handleServiceErrors`), …/storage/error.go, cmd/api/internal/api/transfer_initiation.go and
…/api/service/transfer_initiations.go, internal/models/{connector,transfer_initiation}.go:

* `POST /api/payments/transfer-initiations`: a body that does not decode → 400 `MISSING_OR_INVALID_BODY` (Go's
  decoding error; `null` panics the handler → bare 500); then `Validate()` → 400 `VALIDATION` `reference is
  required` / `invalid type` (only `TRANSFER`, `PAYOUT`, case-sensitive) / `amount is required` / `asset is
  required`. The connector: `connectorID` when given (malformed → 400 `VALIDATION` `<decode error>: validation
  error`; not installed → `connector <connectorID> is not installed: validation error`), else by `provider`
  (exact upper-case name from models.ConnectorProviderFromString, else `unknown connector provider: validation
  error`; none → `no connector found for provider <P>: validation error`; several → `multiple connectors found for
  provider <P>: validation error`). The id is base64url (no padding) of the canonical JSON `{"ConnectorID":
  {"Provider":…,"Reference":<uuid>},"Reference":<reference>}`, so the same reference on the same connector hits the
  primary key → 400 `CONFLICT` `creating transfer initiation: duplicate key value`. Success → 200 `{"data": …}`
  whose status is `VALIDATED` when `validated`, else `WAITING_FOR_VALIDATION`; no `provider` field in that answer.
* `GET /api/payments/transfer-initiations/{id}` (the read service): an id that does not decode → 400 `INVALID_ID`;
  unknown → 404 `NOT_FOUND` `reading transfer initiation: not found`; else `{"data": …}` with `provider`,
  `relatedPayments` (null: no payment yet) and `relatedAdjustments`. v1 has no way to look a transfer initiation
  up by reference (its list filters only on source/destination account): the id above is the way back.
* `GET /api/payments/payments/{id}`: unknown → 404 `NOT_FOUND` `getting payment: not found`.

Deviations, kept on purpose: account ids are not checked (v1 requires `destinationAccountID`, and
`sourceAccountID` when set, to be ids of Payments accounts that exist, the destination INTERNAL for a TRANSFER and
EXTERNAL for a PAYOUT); payment ids are not checked either (v1 answers 400 `VALIDATION` for a malformed one); a
validated transfer is not handed to a connector; scheduledAt is echoed as sent. Decoding errors for ids are worded
like Go's base64/json/uuid errors where simple, approximately otherwise.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ._common import JSON, Answer, ServiceError, format_time, is_int, now, parse_time

# models.ConnectorProviderFromString, the names the service accepts (compared exactly).
PROVIDERS = ("BANKING-CIRCLE", "CURRENCY-CLOUD", "DUMMY-PAY", "MODULR", "STRIPE", "WISE", "MANGOPAY", "MONEYCORP",
             "ATLAR", "ADYEN", "GENERIC")
_ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Connector:
    id: str
    provider: str


class PaymentBook:
    """Payments, installed connectors and transfer initiations. Every method must be called with `lock` held."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.payments: dict[str, dict[str, JSON]] = {}
        self.connectors: dict[str, Connector] = {}
        self.initiations: list[dict[str, JSON]] = []  # accepted request bodies, in arrival order
        self.transfers: dict[str, dict[str, JSON]] = {}  # transfer initiation id -> as the read service gives it

    # -- domain ------------------------------------------------------------------------------------------------

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

    def install_connector(self, provider: str, reference: str | None = None) -> str:
        """Install a connector of `provider` (a `PROVIDERS` name); its id is built like the service builds it."""
        if provider not in PROVIDERS:
            raise ValueError(f"unknown connector provider {provider!r}; one of {', '.join(PROVIDERS)}")
        connector_id = connector_id_of(provider, str(uuid.UUID(reference)) if reference else str(uuid.uuid4()))
        self.connectors[connector_id] = Connector(connector_id, provider)
        return connector_id

    def uninstall_connector(self, connector_id: str) -> None:
        if self.connectors.pop(connector_id, None) is None:
            raise KeyError(f"no connector {connector_id!r} in the fake stack")

    def _connector_for(self, request: _TransferRequest) -> Connector:
        """CreateTransferInitiation's connector: by id when given, else the one installed for the provider."""
        if not request.connector_id:
            if request.provider not in PROVIDERS:
                raise _invalid("unknown connector provider")
            found = [c for c in self.connectors.values() if c.provider == request.provider]
            if not found:
                raise _invalid(f"no connector found for provider {request.provider}")
            if len(found) > 1:
                raise _invalid(f"multiple connectors found for provider {request.provider}")
            return found[0]
        try:
            wanted = _canonical_connector_id(_decode_id(request.connector_id))
        except _BadId as bad:
            raise _invalid(str(bad)) from None
        connector = self.connectors.get(wanted)
        if connector is None:
            raise _invalid(f"connector {request.connector_id} is not installed")
        return connector

    def _initiate(self, body: dict[str, JSON], request: _TransferRequest) -> dict[str, JSON]:
        """Store a transfer initiation and return the create answer's data."""
        connector = self._connector_for(request)
        transfer_id = transfer_initiation_id_of(request.reference, connector.id)
        if transfer_id in self.transfers:
            raise ServiceError(400, "CONFLICT", "creating transfer initiation: duplicate key value")
        created = format_time(now())
        status = "VALIDATED" if request.validated else "WAITING_FOR_VALIDATION"
        stored: dict[str, JSON] = {
            "id": transfer_id, "reference": request.reference, "createdAt": created,
            "scheduledAt": request.scheduled_at, "description": request.description,
            "sourceAccountID": request.source_account_id, "destinationAccountID": request.destination_account_id,
            "connectorID": connector.id, "provider": connector.provider, "type": request.type,
            "amount": request.amount, "initialAmount": request.amount, "asset": request.asset, "status": status,
            "error": "", "metadata": request.metadata, "relatedPayments": None,
            "relatedAdjustments": [{"adjustmentID": str(uuid.uuid4()), "createdAt": created, "status": status,
                                    "error": "", "metadata": None}],
        }
        self.transfers[transfer_id] = stored
        self.initiations.append(copy.deepcopy(body))
        # The create handler's transferInitiationResponse: the read fields minus provider and the relations.
        return {k: copy.deepcopy(v) for k, v in stored.items()
                if k not in ("provider", "relatedPayments", "relatedAdjustments")}

    # -- HTTP --------------------------------------------------------------------------------------------------

    async def get_payment(self, request: Request) -> Response:
        """GET /api/payments/payments/{payment_id}."""
        with self.lock:
            payment = self.payments.get(request.path_params["payment_id"])
            if payment is None:
                answer = ServiceError(404, "NOT_FOUND", "getting payment: not found").answer()
            else:
                answer = Answer(200, {"data": copy.deepcopy(payment)})
        return answer.to_response()

    async def create_transfer_initiation(self, request: Request) -> Response:
        """POST /api/payments/transfer-initiations (no idempotency header: the reference identifies it)."""
        raw = await request.body()
        try:
            body, transfer = _decode_transfer_request(raw)
            transfer.validate()
            with self.lock:
                answer = Answer(200, {"data": self._initiate(body, transfer)})
        except _Panic:
            answer = Answer(500, empty=True)
        except ServiceError as err:
            answer = err.answer()
        return answer.to_response()

    async def get_transfer_initiation(self, request: Request) -> Response:
        """GET /api/payments/transfer-initiations/{transfer_id}."""
        try:
            wanted = _canonical_transfer_id(_decode_id(request.path_params["transfer_id"],
                                                         "models.TransferInitiationID"))
        except _BadId as bad:
            return ServiceError(400, "INVALID_ID", str(bad)).answer().to_response()
        with self.lock:
            stored = self.transfers.get(wanted)
            if stored is None:
                answer = ServiceError(404, "NOT_FOUND", "reading transfer initiation: not found").answer()
            else:
                answer = Answer(200, {"data": copy.deepcopy(stored)})
        return answer.to_response()


def _invalid(message: str) -> ServiceError:
    # errors.Wrap(service.ErrValidation, message): the wrapped error's text comes last.
    return ServiceError(400, "VALIDATION", f"{message}: validation error")


class _Panic(Exception):
    """The real handler would panic (recovered as a bare 500)."""


# -- the request body, decoded as Go's encoding/json decodes it ------------------------------------------------

_STRUCT = "CreateTransferInitiationRequest"
_STRING_FIELDS = ("reference", "description", "sourceAccountID", "destinationAccountID", "connectorID", "provider",
                  "type", "asset")


@dataclass
class _TransferRequest:
    reference: str = ""
    scheduled_at: str = _ZERO_TIME
    description: str = ""
    source_account_id: str = ""
    destination_account_id: str = ""
    connector_id: str = ""
    provider: str = ""
    type: str = ""
    amount: int | None = None
    asset: str = ""
    validated: bool = False
    metadata: dict[str, str] | None = None

    def validate(self) -> None:
        """CreateTransferInitiationRequest.Validate, without its account id checks (see the module docstring)."""
        if not self.reference:
            raise ServiceError(400, "VALIDATION", "reference is required")
        if self.type not in ("TRANSFER", "PAYOUT"):
            raise ServiceError(400, "VALIDATION", "invalid type")
        if self.amount is None:
            raise ServiceError(400, "VALIDATION", "amount is required")
        if not self.asset:
            raise ServiceError(400, "VALIDATION", "asset is required")


def _json_kind(value: JSON) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "null"


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_text(value: str) -> str:
    # Go decodes lone surrogates (invalid UTF-16 escapes) to U+FFFD.
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)


def _decode_transfer_request(raw: bytes) -> tuple[dict[str, JSON], _TransferRequest]:
    """json.NewDecoder(body).Decode(&payload): fields matched case-insensitively, the first type error kept."""
    bad_body = "MISSING_OR_INVALID_BODY"
    if not raw.strip():
        raise ServiceError(400, bad_body, "EOF")
    text = raw.decode("utf-8", "replace").lstrip(" \t\r\n")
    try:
        body, _ = json.JSONDecoder().raw_decode(text)  # a Decoder reads one value and leaves the rest unread
    except ValueError as err:
        raise ServiceError(400, bad_body, _go_syntax_error(text, err, "unexpected EOF")) from None
    if body is None:
        raise _Panic()
    if not isinstance(body, dict):
        raise ServiceError(400, bad_body, f"json: cannot unmarshal {_json_kind(body)} into Go value of type "
                                          f"service.{_STRUCT}")
    out = _TransferRequest()
    type_error: str | None = None
    fields = {name.lower(): name for name in (*_STRING_FIELDS, "scheduledAt", "amount", "validated", "metadata")}
    for key, value in body.items():
        name = fields.get(key.lower())
        if name is None or value is None:
            continue
        mismatch = f"json: cannot unmarshal {_json_kind(value)} into Go struct field {_STRUCT}.{name} of type "
        if name in _STRING_FIELDS:
            if not isinstance(value, str):
                type_error = type_error or mismatch + "string"
                continue
            attr = {"sourceAccountID": "source_account_id", "destinationAccountID": "destination_account_id",
                    "connectorID": "connector_id"}.get(name, name)
            setattr(out, attr, _go_text(value))
        elif name == "amount":
            if not is_int(value):  # big.Int.UnmarshalJSON aborts the decoding at once
                text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
                quoted = _go_quote(json.dumps(text) if isinstance(value, str) else text)
                raise ServiceError(400, bad_body, f"math/big: cannot unmarshal {quoted} into a *big.Int")
            out.amount = value
        elif name == "scheduledAt":
            out.scheduled_at = _go_time(value)
        elif name == "validated":
            if not isinstance(value, bool):
                type_error = type_error or mismatch + "bool"
                continue
            out.validated = value
        elif name == "metadata":
            if not isinstance(value, dict):
                type_error = type_error or mismatch + "map[string]string"
                continue
            kept = {k: v for k, v in value.items() if isinstance(v, str)}
            if len(kept) != len(value):
                bad = next(v for v in value.values() if not isinstance(v, str))
                type_error = type_error or (f"json: cannot unmarshal {_json_kind(bad)} into Go struct field "
                                            f"{_STRUCT}.metadata of type string")
            out.metadata = {_go_text(k): _go_text(v) for k, v in kept.items()}
    if type_error is not None:
        raise ServiceError(400, bad_body, type_error)
    return body, out


def _go_time(value: JSON) -> str:
    """time.Time.UnmarshalJSON: an RFC 3339 string (echoed as sent), anything else aborts the decoding."""
    if not isinstance(value, str):
        raise ServiceError(400, "MISSING_OR_INVALID_BODY", "Time.UnmarshalJSON: input is not a JSON string")
    try:
        parse_time(value)
    except OverflowError:
        pass  # a valid date near year 1 or 9999 that Python's datetime cannot shift to UTC
    except ValueError:
        raise ServiceError(400, "MISSING_OR_INVALID_BODY",
                           f'parsing time {_go_quote(value)} as "2006-01-02T15:04:05Z07:00": cannot parse '
                           f'{_go_quote(value)} as "2006"') from None
    return value


def _go_syntax_error(text: str, err: ValueError, truncated: str = "unexpected end of JSON input") -> str:
    """A json.SyntaxError text for the first offending character (wording approximated)."""
    position = getattr(err, "pos", len(text))
    if position >= len(text):
        return truncated
    ch = text[position]
    return f"invalid character {_go_char(ch)} looking for beginning of value"


def _go_char(ch: str) -> str:
    # encoding/json quoteChar
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + (ch if ch.isprintable() else f"\\x{ord(ch):02x}") + "'"


# -- ids: base64url (no padding) of canonical JSON -------------------------------------------------------------


class _BadId(ValueError):
    pass


def _canonical(value: JSON) -> str:
    """gibson042/canonicaljson-go for strings and objects: sorted keys, minimal escapes, upper-case \\u00XX."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_canonical(k)}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    assert isinstance(value, str)
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    return '"' + "".join(short.get(ch) or (f"\\u{ord(ch):04X}" if ord(ch) < 0x20 else ch) for ch in value) + '"'


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def connector_id_of(provider: str, reference: str) -> str:
    """models.ConnectorID.String() for a provider and a UUID."""
    return _b64(_canonical({"Provider": provider, "Reference": reference}))


def transfer_initiation_id_of(reference: str, connector_id: str) -> str:
    """models.TransferInitiationID.String(): what the create answer's `id` is and what the GET takes."""
    connector = _decode_id(connector_id)
    return _b64(_canonical({"ConnectorID": _connector_fields(connector), "Reference": reference}))


_URL_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _decode_id(value: str, go_type: str = "models.ConnectorID") -> dict[str, JSON]:
    """base64.URLEncoding.WithPadding(NoPadding).DecodeString then canonicaljson.Unmarshal into a struct."""
    kept = [(i, ch) for i, ch in enumerate(value) if ch not in "\r\n"]  # Go's decoder skips newlines
    for i, ch in kept:
        if ch not in _URL_ALPHABET:
            raise _BadId(f"illegal base64 data at input byte {i}")
    if len(kept) % 4 == 1:
        raise _BadId(f"illegal base64 data at input byte {kept[-1][0]}")
    packed = "".join(ch for _, ch in kept)
    try:
        data = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
    except (binascii.Error, ValueError) as err:
        raise _BadId(f"illegal base64 data at input byte {len(value) - 1}") from err
    text = data.decode("utf-8", "replace")
    if not text.strip():
        raise _BadId("unexpected end of JSON input")
    try:
        decoded = json.loads(text)
    except ValueError as err:
        raise _BadId(_go_syntax_error(text, err)) from None
    if not isinstance(decoded, dict):
        raise _BadId(f"json: cannot unmarshal {_json_kind(decoded)} into Go value of type {go_type}")
    return decoded


def _field(obj: dict[str, JSON], name: str) -> JSON:
    """encoding/json's key matching: an exact key first, else any case-insensitive one (the last one)."""
    if name in obj:
        return obj[name]
    matches = [v for k, v in obj.items() if k.lower() == name.lower()]
    return matches[-1] if matches else None


def _connector_fields(obj: JSON) -> dict[str, JSON]:
    """A ConnectorID object → its canonical fields ({Provider, Reference}) with Go's zero values."""
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise _BadId(f"json: cannot unmarshal {_json_kind(obj)} into Go struct field .ConnectorID of type "
                     f"models.ConnectorID")
    provider = _field(obj, "Provider")
    if provider is not None and not isinstance(provider, str):
        raise _BadId(f"json: cannot unmarshal {_json_kind(provider)} into Go struct field ConnectorID.Provider of "
                     f"type models.ConnectorProvider")
    reference = _field(obj, "Reference")
    if reference is not None and not isinstance(reference, str):
        raise _BadId(f"json: cannot unmarshal {_json_kind(reference)} into Go struct field ConnectorID.Reference "
                     f"of type uuid.UUID")
    return {"Provider": _go_text(provider or ""), "Reference": _go_uuid(reference) if reference is not None
            else "00000000-0000-0000-0000-000000000000"}


def _canonical_connector_id(obj: dict[str, JSON]) -> str:
    fields = _connector_fields(obj)
    return connector_id_of(str(fields["Provider"]), str(fields["Reference"]))


def _canonical_transfer_id(obj: dict[str, JSON]) -> str:
    reference = _field(obj, "Reference")
    if reference is not None and not isinstance(reference, str):
        raise _BadId(f"json: cannot unmarshal {_json_kind(reference)} into Go struct field "
                     f"TransferInitiationID.Reference of type string")
    connector = _connector_fields(_field(obj, "ConnectorID"))
    return _b64(_canonical({"ConnectorID": connector, "Reference": _go_text(reference or "")}))


_HEX = set("0123456789abcdefABCDEF")


def _go_uuid(text: str) -> str:
    """github.com/google/uuid Parse: the 36, 38 ({…}), 45 (urn:uuid:…) and 32 character forms."""
    if len(text) == 45:
        if text[:9].lower() != "urn:uuid:":
            raise _BadId(f"invalid urn prefix: {_go_quote(text[:9])}")
        text = text[9:]
    elif len(text) == 38:
        text = text[1:37]
    elif len(text) == 32:
        if not set(text) <= _HEX:
            raise _BadId("invalid UUID format")
        return str(uuid.UUID(hex=text))
    elif len(text) != 36:
        raise _BadId(f"invalid UUID length: {len(text)}")
    if any(text[i] != "-" for i in (8, 13, 18, 23)) or not set(text.replace("-", "")) <= _HEX \
            or len(text.replace("-", "")) != 32:
        raise _BadId("invalid UUID format")
    return str(uuid.UUID(text))
