"""The fake Ledger: v2 transactions and account metadata, v2 and v1 account reads.

Behaviour follows formancehq/ledger v2 (internal/api/v2/controllers_transactions_create.go,
controllers_accounts_add_metadata.go, controllers_accounts_read.go, internal/api/common/errors.go,
middleware_resolver.go, internal/controller/ledger/errors.go and the log processor's `forgeLog`):

* unknown ledger → 404 `LEDGER_NOT_FOUND` (the resolver middleware runs before anything else);
* `Idempotency-Key`: looked up before executing; same key + same input → the stored answer again (header
  `Idempotency-Hit: true`), no second log; same key + different input → 400 `VALIDATION` ("invalid idempotency
  hash …"); only successful commands are stored, so a key whose first attempt failed can be retried;
* duplicate `reference` → 409 `CONFLICT` `duplicate reference "<ref>"`;
* insufficient funds → 400 `INSUFFICIENT_FUND`, nothing written (a transaction is atomic); `world` is unbounded;
* a Numscript body (`script.plain`, no postings) is compiled after the idempotency look-up, as the controller does,
  into the one posting it makes (`_numscript.py` says what is verified there); its failures are 400
  `COMPILATION_FAILED`; `force` does not apply to scripts;
* account reads: v2 answers 404 `NOT_FOUND` for an address never used, v1 answers 200 with an empty account.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from ._common import (
    JSON,
    Answer,
    ServiceError,
    fingerprint,
    format_time,
    is_int,
    is_str_map,
    now,
    parse_json,
    parse_time,
)
from ._numscript import CompilationFailed, check_vars, compile_send

WORLD = "world"
# Ledger address and asset syntax (formancehq/ledger pkg/accounts, pkg/assets). '-' is allowed in addresses since
# v2.2 (`liabilities:payouts-pending`); older Ledgers refused it, which is why the orchestration writes payment
# accounts as `payment:a_b_c` and Wallets strips dashes from wallet ids.
_ADDRESS = re.compile(r"^[a-zA-Z0-9_-]+(:[a-zA-Z0-9_-]+)*$")
_ASSET = re.compile(r"^[A-Z][A-Z0-9]{0,16}(_[A-Z]{1,16})?(/\d{1,6})?$")
# The exact text the real Ledger gives (spec §8.2, scenario #39).
_NO_FUNDS = "running numscript: script execution failed: account(s) @{} had/have insufficient funds"


@dataclass
class Account:
    address: str
    inserted: str
    metadata: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, list[int]] = field(default_factory=dict)  # asset -> [input, output]
    first_usage: str | None = None

    def balances(self) -> dict[str, int]:
        return {asset: i - o for asset, (i, o) in self.volumes.items()}

    def volumes_json(self) -> dict[str, dict[str, int]]:
        return {asset: {"input": i, "output": o, "balance": i - o} for asset, (i, o) in self.volumes.items()}


@dataclass
class Ledger:
    name: str
    accounts: dict[str, Account] = field(default_factory=dict)
    transactions: list[dict[str, JSON]] = field(default_factory=list)
    references: set[str] = field(default_factory=set)
    idempotency: dict[str, tuple[str, Answer]] = field(default_factory=dict)  # key -> (input hash, answer)

    def account(self, address: str, *, create: bool = False) -> Account | None:
        acc = self.accounts.get(address)
        if acc is None and create:
            acc = self.accounts[address] = Account(address, format_time(now()))
        return acc

    def balance(self, address: str, asset: str) -> int:
        acc = self.accounts.get(address)
        if acc is None or asset not in acc.volumes:
            return 0
        i, o = acc.volumes[asset]
        return i - o


@dataclass(frozen=True)
class Posting:
    source: str
    destination: str
    amount: int
    asset: str

    def to_json(self) -> dict[str, JSON]:
        return {"source": self.source, "destination": self.destination, "amount": self.amount, "asset": self.asset}


class LedgerBook:
    """All ledgers of the fake stack. Every method must be called with `lock` held (it is re-entrant)."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.ledgers: dict[str, Ledger] = {}

    # -- domain ------------------------------------------------------------------------------------------------

    def create(self, name: str) -> Ledger:
        return self.ledgers.setdefault(name, Ledger(name))

    def get(self, name: str) -> Ledger:
        led = self.ledgers.get(name)
        if led is None:
            # middleware_resolver.go: postgres.ErrNotFound, whose text is "not found" (any wrapping unverified).
            raise ServiceError(404, "LEDGER_NOT_FOUND", "not found")
        return led

    def idempotent(self, led: Ledger, key: str | None, input_hash: str, action: Callable[[], Answer]) -> Answer:
        """Run `action` once per Idempotency-Key on this ledger; replay its answer for the same input."""
        if key:
            stored = led.idempotency.get(key)
            if stored is not None:
                if stored[0] != input_hash:
                    raise ServiceError(400, "VALIDATION", f"invalid idempotency hash when using idempotency key "
                                                          f"'{key}', has computed '{input_hash}' but '{stored[0]}' "
                                                          f"is stored")
                replay = copy.deepcopy(stored[1])
                replay.headers["Idempotency-Hit"] = "true"
                return replay
        answer = action()
        if key and 200 <= answer.status < 300:  # failures write no log, so they are never replayed
            led.idempotency[key] = (input_hash, copy.deepcopy(answer))
        return answer

    def commit(self, led: Ledger, postings: list[Posting], *, metadata: dict[str, str] | None = None,
               reference: str | None = None, timestamp: str | None = None, force: bool = False) -> dict[str, JSON]:
        """Apply postings atomically (all or nothing) and return the stored transaction."""
        if reference and reference in led.references:
            raise ServiceError(409, "CONFLICT", f'duplicate reference "{reference}"')
        # Postings run in order, as the numscript the Ledger compiles them to does: each source must hold the
        # amount at that point (an earlier posting of the same transaction may have funded it).
        running: dict[tuple[str, str], int] = {}
        for p in postings:
            src, dst = (p.source, p.asset), (p.destination, p.asset)
            running.setdefault(src, led.balance(*src))
            running.setdefault(dst, led.balance(*dst))
            # The machine funds a bounded source with its balance floored at 0, so sending 0 never fails.
            if p.source != WORLD and not force and p.amount > max(running[src], 0):
                raise ServiceError(400, "INSUFFICIENT_FUND", _NO_FUNDS.format(p.source))
            running[src] -= p.amount
            running[dst] += p.amount
        ts = timestamp or format_time(now())
        touched = {(a, p.asset) for p in postings for a in (p.source, p.destination)}
        pre = self._volumes(led, touched)
        for p in postings:
            for address in (p.source, p.destination):
                acc = led.account(address, create=True)
                assert acc is not None
                acc.first_usage = acc.first_usage or ts
                acc.volumes.setdefault(p.asset, [0, 0])
            led.accounts[p.source].volumes[p.asset][1] += p.amount
            led.accounts[p.destination].volumes[p.asset][0] += p.amount
        tx: dict[str, JSON] = {"id": len(led.transactions), "postings": [p.to_json() for p in postings],
                               "metadata": dict(metadata or {}), "timestamp": ts}
        if reference:
            tx["reference"] = reference
            led.references.add(reference)
        tx.update({"reverted": False, "insertedAt": format_time(now()),
                   "preCommitVolumes": pre, "postCommitVolumes": self._volumes(led, touched)})
        led.transactions.append(tx)
        return copy.deepcopy(tx)

    def save_metadata(self, led: Ledger, address: str, metadata: dict[str, str]) -> None:
        acc = led.account(address, create=True)
        assert acc is not None
        acc.metadata.update(metadata)

    @staticmethod
    def _volumes(led: Ledger, touched: set[tuple[str, str]]) -> dict[str, dict[str, dict[str, int]]]:
        out: dict[str, dict[str, dict[str, int]]] = {}
        for address, asset in sorted(touched):
            acc = led.accounts.get(address)
            i, o = acc.volumes.get(asset, [0, 0]) if acc else [0, 0]
            out.setdefault(address, {})[asset] = {"input": i, "output": o, "balance": i - o}
        return out

    # -- HTTP --------------------------------------------------------------------------------------------------

    async def create_transaction(self, request: Request) -> Response:
        """POST /api/ledger/v2/{ledger}/transactions."""
        raw = await request.body()
        with self.lock:
            try:
                led = self.get(request.path_params["ledger"])
                payload, postings = _parse_transaction(raw)
                force = request.query_params.get("force", "").lower() in ("true", "1")
                key = request.headers.get("Idempotency-Key")

                def run() -> Answer:
                    # A script makes one posting, so "its source may go negative" is the whole-transaction force.
                    moves, unbounded = (postings, force) if postings else _run_script(payload["script"])
                    tx = self.commit(led, moves, metadata=payload.get("metadata"), force=unbounded,
                                     reference=payload.get("reference") or None, timestamp=payload.get("timestamp"))
                    return Answer(200, {"data": tx})

                answer = self.idempotent(led, key, fingerprint("create-transaction", payload), run)
            except ServiceError as err:
                answer = err.answer()
        return answer.to_response()

    async def add_account_metadata(self, request: Request) -> Response:
        """POST /api/ledger/v2/{ledger}/accounts/{address}/metadata → 204."""
        raw = await request.body()
        with self.lock:
            try:
                led = self.get(request.path_params["ledger"])
                address = request.path_params["address"]
                try:
                    metadata = parse_json(raw)
                except ValueError:
                    metadata = None
                if not is_str_map(metadata):  # Go decodes into map[string]string
                    raise ServiceError(400, "VALIDATION", "invalid metadata format")
                key = request.headers.get("Idempotency-Key")

                def run() -> Answer:
                    self.save_metadata(led, address, metadata)
                    return Answer(204)

                answer = self.idempotent(led, key, fingerprint("account-metadata", [address, metadata]), run)
            except ServiceError as err:
                answer = err.answer()
        return answer.to_response()

    async def read_account_v2(self, request: Request) -> Response:
        """GET /api/ledger/v2/{ledger}/accounts/{address} (`?expand=volumes` adds volumes)."""
        with self.lock:
            try:
                led = self.get(request.path_params["ledger"])
                acc = led.account(request.path_params["address"])
                if acc is None:
                    raise ServiceError(404, "NOT_FOUND", "not found")  # postgres.ErrNotFound text
                data: dict[str, JSON] = {"address": acc.address, "metadata": dict(acc.metadata),
                                         "insertionDate": acc.inserted, "updatedAt": acc.inserted}
                if acc.first_usage:
                    data["firstUsage"] = acc.first_usage
                expand = {e for v in request.query_params.getlist("expand") for e in v.split(",")}
                if "volumes" in expand:
                    data["volumes"] = acc.volumes_json()
                answer = Answer(200, {"data": data})
            except ServiceError as err:
                answer = err.answer()
        return answer.to_response()

    async def read_account_v1(self, request: Request) -> Response:
        """GET /api/ledger/{ledger}/accounts/{address}: v1 never 404s on an account, it returns it empty."""
        with self.lock:
            try:
                led = self.get(request.path_params["ledger"])
                address = request.path_params["address"]
                acc = led.account(address) or Account(address, "")
                answer = Answer(200, {"data": {"address": address, "metadata": dict(acc.metadata),
                                               "balances": acc.balances(), "volumes": acc.volumes_json()}})
            except ServiceError as err:
                answer = err.answer()
        return answer.to_response()


def _parse_transaction(raw: bytes) -> tuple[dict[str, JSON], list[Posting]]:
    """Validate a v2 transaction body the way the Ledger's JSON decoding and `Postings.Validate` do."""
    bad_format = ServiceError(400, "VALIDATION", "invalid transaction format")
    try:
        payload = parse_json(raw)
    except ValueError:
        raise bad_format from None
    if not isinstance(payload, dict):
        raise bad_format
    postings_in = payload.get("postings") or []
    script = payload.get("script") or {}
    metadata = payload.get("metadata")
    if (not isinstance(postings_in, list) or not isinstance(script, dict)
            or not isinstance(script.get("plain") or "", str) or not isinstance(script.get("vars") or {}, dict)
            or (metadata is not None and not is_str_map(metadata))
            or not isinstance(payload.get("reference") or "", str)):
        raise bad_format
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        try:
            payload["timestamp"] = format_time(parse_time(timestamp)) if isinstance(timestamp, str) else None
        except ValueError:
            raise bad_format from None
        if payload["timestamp"] is None:
            raise bad_format
    if postings_in and script.get("plain"):
        raise ServiceError(400, "VALIDATION", "cannot pass postings and numscript in the same request")
    if not postings_in and not script.get("plain"):
        raise ServiceError(400, "NO_POSTINGS", "you need to pass either a posting array or a numscript script")
    postings: list[Posting] = []
    for i, p in enumerate(postings_in):
        if not isinstance(p, dict) or not is_int(p.get("amount")):
            raise bad_format  # a big.Int only decodes from a JSON integer
        src, dst, asset = p.get("source", ""), p.get("destination", ""), p.get("asset", "")
        if not all(isinstance(v, str) for v in (src, dst, asset)):
            raise bad_format
        # Messages of ledger's Postings.Validate wrapped as "invalid posting <i>: …" (wording from the stack-era
        # controller; not re-checked against every release).
        if p["amount"] < 0:
            raise ServiceError(400, "VALIDATION", f"invalid posting {i}: negative amount")
        if not _ADDRESS.match(src):
            raise ServiceError(400, "VALIDATION", f"invalid posting {i}: invalid source address")
        if not _ADDRESS.match(dst):
            raise ServiceError(400, "VALIDATION", f"invalid posting {i}: invalid destination address")
        if not _ASSET.match(asset):
            raise ServiceError(400, "VALIDATION", f"invalid posting {i}: invalid asset")
        postings.append(Posting(src, dst, p["amount"], asset))
    return payload, postings


def _run_script(script: dict[str, JSON]) -> tuple[list[Posting], bool]:
    """Compile and run a script body: its one posting, and whether its source may go negative."""
    try:
        send = compile_send(script["plain"], address=_ADDRESS, asset=_ASSET)
        check_vars(script.get("vars") or {})
    except CompilationFailed as failed:
        raise ServiceError(400, "COMPILATION_FAILED", failed.message) from None
    return [Posting(send.source, send.destination, send.amount, send.asset)], send.unbounded
