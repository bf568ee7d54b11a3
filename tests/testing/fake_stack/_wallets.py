"""The fake Wallets service, storing everything in the fake Ledger the way formancehq/wallets does.

From formancehq/wallets (pkg/chart.go, pkg/manager.go, pkg/wallet.go, pkg/balance.go, pkg/metadata.go,
pkg/api/handler_wallets_{get,list,credit,debit}.go, pkg/api/utils.go):

* a wallet is the ledger account `wallets:<id>:main` (dashes stripped from the whole address) carrying metadata
  `wallets/spec/type=wallets.primary`, `wallets/id`, `wallets/name`, `wallets/balances=true`,
  `wallets/balances/name=main`, `wallets/createdAt` and `wallets/custom_data_<key>` per user metadata entry;
  another balance `b` is the account `wallets:<id>:<b>` with `wallets/balances=true`;
* credit = one transaction `sources → wallets:<id>:<balance>` (sources taken in order, `world` when none);
  debit = `wallets:<id>:<balance>… → destination` (`world` when none); both carry transaction metadata
  `wallets/transaction=true` plus the custom data, and pass the Idempotency-Key on to the Ledger, which dedups;
* errors: 400 `VALIDATION` for a bad body or a missing balance ("balance not exists"), 400 `INSUFFICIENT_FUND`
  "insufficient fund" on debit, 500 `INTERNAL_ERROR` for anything else (a credit whose source lacks funds lands
  here: the credit handler maps only validation errors), GET of an unknown wallet → 404 with an empty body.

Deviation (a real Wallets service owns exactly one ledger): each fake wallet names its own ledger, so that the
cross-ledger flows of spec §6.5.3 can be exercised; a wallet is found by searching every fake ledger.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

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
from ._ledger import WORLD, Account, Ledger, LedgerBook, Posting

MAIN = "main"
_SPEC, _PRIMARY, _ID, _NAME = "wallets/spec/type", "wallets.primary", "wallets/id", "wallets/name"
_BALANCE_FLAG, _BALANCE_NAME, _CREATED = "wallets/balances", "wallets/balances/name", "wallets/createdAt"
_PRIORITY, _EXPIRES, _CUSTOM = "wallets/balances/priority", "wallets/balances/expiresAt", "wallets/custom_data_"


def balance_account(wallet_id: str, balance: str = MAIN) -> str:
    """The ledger address of a wallet balance (pkg/chart.go: joined with ':' then every '-' removed)."""
    return f"wallets:{wallet_id}:{balance}".replace("-", "")


@dataclass
class _Found:
    ledger: Ledger
    main: Account


class WalletBook:
    """Wallets on top of a LedgerBook. Every method must be called with `lock` held."""

    def __init__(self, lock: threading.RLock, ledgers: LedgerBook) -> None:
        self.lock = lock
        self.ledgers = ledgers

    # -- domain ------------------------------------------------------------------------------------------------

    def create(self, name: str, ledger: str, metadata: dict[str, str] | None, wallet_id: str | None) -> str:
        wallet_id = wallet_id or str(uuid.uuid4())
        md = {_SPEC: _PRIMARY, _NAME: name, _ID: wallet_id, _BALANCE_FLAG: "true", _BALANCE_NAME: MAIN,
              _CREATED: format_time(now())}
        md.update({_CUSTOM + k: v for k, v in (metadata or {}).items()})
        # The real service creates its ledger at start-up (EnsureLedgerExists): create it here likewise.
        self.ledgers.save_metadata(self.ledgers.create(ledger), balance_account(wallet_id), md)
        return wallet_id

    def create_balance(self, wallet_id: str, name: str, priority: int) -> None:
        found = self.find(wallet_id)
        if found is None:
            raise KeyError(f"no wallet {wallet_id!r}")
        self.ledgers.save_metadata(found.ledger, balance_account(wallet_id, name), {
            _ID: wallet_id, _BALANCE_FLAG: "true", _BALANCE_NAME: name, _EXPIRES: "", _PRIORITY: str(priority)})

    def find(self, wallet_id: str) -> _Found | None:
        for led in self.ledgers.ledgers.values():
            acc = led.account(balance_account(wallet_id))
            if acc is not None and acc.metadata.get(_SPEC) == _PRIMARY:
                return _Found(led, acc)
        return None

    def balance(self, wallet_id: str, asset: str, balance: str) -> int:
        found = self.find(wallet_id)
        return found.ledger.balance(balance_account(wallet_id, balance), asset) if found else 0

    @staticmethod
    def to_json(led: Ledger, acc: Account, *, with_balances: bool) -> dict[str, JSON]:
        md = acc.metadata
        return {"id": md[_ID], "name": md.get(_NAME, ""), "createdAt": md.get(_CREATED, ""), "ledger": led.name,
                "metadata": {k[len(_CUSTOM):]: v for k, v in md.items() if k.startswith(_CUSTOM)},
                "balances": {"main": {"expiresAt": None, "priority": 0,
                                      "assets": acc.balances() if with_balances else {}}}}

    # -- HTTP --------------------------------------------------------------------------------------------------

    async def get_wallet(self, request: Request) -> Response:
        """GET /api/wallets/wallets/{wallet_id}."""
        with self.lock:
            found = self.find(request.path_params["wallet_id"])
            if found is None:
                return Answer(404, empty=True).to_response()  # notFound(): status only, no body
            return Answer(200, {"data": self.to_json(found.ledger, found.main, with_balances=True)}).to_response()

    async def list_wallets(self, request: Request) -> Response:
        """GET /api/wallets/wallets?name=&metadata[k]=v&pageSize=&cursor=&expand=balances."""
        q = request.query_params
        try:
            if q.get("cursor"):
                state = json.loads(base64.urlsafe_b64decode(q["cursor"].encode()))
            else:
                size = int(q.get("pageSize") or 15)
                if size < 1:
                    raise ValueError("pageSize must be a positive integer")
                meta = {k[len("metadata["):-1]: v for k, v in q.items() if k.startswith("metadata[") and k[-1] == "]"}
                state = {"offset": 0, "size": min(size, 100), "name": q.get("name", ""), "metadata": meta,
                         "expand": q.get("expand") == "balances"}
        except ValueError as err:
            return ServiceError(400, "VALIDATION", str(err)).answer().to_response()
        with self.lock:
            matches = [self.to_json(led, acc, with_balances=state["expand"])
                       for led in self.ledgers.ledgers.values() for acc in led.accounts.values()
                       if acc.metadata.get(_SPEC) == _PRIMARY
                       and (not state["name"] or acc.metadata.get(_NAME) == state["name"])
                       and all(acc.metadata.get(_CUSTOM + k) == v for k, v in state["metadata"].items())]
        start, size = state["offset"], state["size"]
        cursor: dict[str, JSON] = {"pageSize": size, "hasMore": start + size < len(matches),
                                   "data": matches[start:start + size]}
        if cursor["hasMore"]:
            cursor["next"] = _token({**state, "offset": start + size})
        if start > 0:
            cursor["previous"] = _token({**state, "offset": max(0, start - size)})
        return Answer(200, {"cursor": cursor}).to_response()

    async def credit(self, request: Request) -> Response:
        """POST /api/wallets/wallets/{wallet_id}/credit → 204."""
        raw, wallet_id = await request.body(), request.path_params["wallet_id"]
        with self.lock:
            try:
                body = _decode(raw)
                amount, asset = _monetary(body)
                balance = body.get("balance") or ""
                sources = [_subject(s) for s in body.get("sources") or []] or [WORLD]
                found = self.find(wallet_id)
                # Manager.Credit checks the balance only when one is named; with none, a real Wallets service
                # would post into the (phantom) main account of its single ledger; the fake has no ledger to pick.
                target = balance or MAIN
                bal_acc = found.ledger.account(balance_account(wallet_id, target)) if found else None
                if found is None or bal_acc is None or bal_acc.metadata.get(_BALANCE_FLAG) != "true":
                    raise ServiceError(400, "VALIDATION", "balance not exists")
                led, dest = found.ledger, balance_account(wallet_id, target)

                def run() -> Answer:  # funds are the Ledger's business: checked after its idempotency lookup
                    postings = _take(led, sources, dest, amount, asset)
                    if postings is None:
                        raise ServiceError(500, "INTERNAL_ERROR", "creating transaction: insufficient fund")
                    return self._commit(led, postings, body)

                answer = self._idempotent(led, request, fingerprint("wallets-credit", [wallet_id, body]), run)
            except ServiceError as err:
                answer = err.answer()
        return answer.to_response()

    async def debit(self, request: Request) -> Response:
        """POST /api/wallets/wallets/{wallet_id}/debit → 204 (201 with a hold when pending: not supported)."""
        raw, wallet_id = await request.body(), request.path_params["wallet_id"]
        with self.lock:
            try:
                body = _decode(raw)
                amount, asset = _monetary(body)
                if body.get("pending"):
                    raise ServiceError(400, "VALIDATION", "fake stack: pending debits (holds) are not supported")
                names = body.get("balances") or []
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise ServiceError(400, "VALIDATION", "invalid balances")
                if "*" in names and len(names) > 1:
                    raise ServiceError(400, "VALIDATION", "invalid balance specified")
                dest = _subject(body["destination"]) if body.get("destination") else WORLD
                found = self.find(wallet_id)
                if found is None:
                    # Real outcome: with no balance named the script drains an empty phantom account
                    # (insufficient fund); a named one is read first and is missing (ErrAccountNotFound → 500).
                    if names:
                        raise ServiceError(500, "INTERNAL_ERROR", "account not found")
                    raise ServiceError(400, "INSUFFICIENT_FUND", "insufficient fund")
                led = found.ledger
                if names == ["*"]:
                    names = self._balance_names(led, wallet_id)
                for name in names:
                    if led.account(balance_account(wallet_id, name)) is None:
                        raise ServiceError(500, "INTERNAL_ERROR", "account not found")
                sources = [balance_account(wallet_id, n) for n in names or [MAIN]]

                def run() -> Answer:
                    postings = _take(led, sources, dest, amount, asset)
                    if postings is None:
                        raise ServiceError(400, "INSUFFICIENT_FUND", "insufficient fund")
                    return self._commit(led, postings, body)

                answer = self._idempotent(led, request, fingerprint("wallets-debit", [wallet_id, body]), run)
            except ServiceError as err:
                answer = err.answer()
        return answer.to_response()

    def _idempotent(self, led: Ledger, request: Request, input_hash: str, run: Callable[[], Answer]) -> Answer:
        """Wallets hands its Idempotency-Key to the Ledger, which dedups; the hit header stays inside."""
        answer = self.ledgers.idempotent(led, request.headers.get("Idempotency-Key"), input_hash, run)
        answer.headers.pop("Idempotency-Hit", None)
        return answer

    def _commit(self, led: Ledger, postings: list[Posting], body: dict[str, JSON]) -> Answer:
        metadata = {"wallets/transaction": "true", **{_CUSTOM + k: v for k, v in (body.get("metadata") or {}).items()}}
        try:
            self.ledgers.commit(led, postings, metadata=metadata, reference=body.get("reference") or None,
                                timestamp=body.get("timestamp"))
        except ServiceError as err:  # the Ledger's answer reaches the client as an internal error
            raise ServiceError(500, "INTERNAL_ERROR", f"creating transaction: {err.message}") from None
        return Answer(204)

    @staticmethod
    def _balance_names(led: Ledger, wallet_id: str) -> list[str]:
        """Debit from `*`: every balance of the wallet, by priority, `main` last (Balances.Less)."""
        own = [a for a in led.accounts.values()
               if a.metadata.get(_ID) == wallet_id and a.metadata.get(_BALANCE_FLAG) == "true"]
        own.sort(key=lambda a: (a.metadata.get(_BALANCE_NAME) == MAIN, int(a.metadata.get(_PRIORITY) or 0)))
        return [a.metadata.get(_BALANCE_NAME, MAIN) for a in own]


def _token(state: dict[str, JSON]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _decode(raw: bytes) -> dict[str, JSON]:
    try:
        body = parse_json(raw)
    except ValueError as err:
        raise ServiceError(400, "VALIDATION", str(err)) from None
    if not isinstance(body, dict) or not is_str_map(body.get("metadata") or {}):
        raise ServiceError(400, "VALIDATION", "invalid request body")
    if body.get("timestamp") is not None:
        try:
            body["timestamp"] = format_time(parse_time(str(body["timestamp"])))
        except ValueError as err:
            raise ServiceError(400, "VALIDATION", str(err)) from None
    return body


def _monetary(body: dict[str, JSON]) -> tuple[int, str]:
    m = body.get("amount")
    if not isinstance(m, dict) or not is_int(m.get("amount")) or not isinstance(m.get("asset"), str):
        raise ServiceError(400, "VALIDATION", "invalid amount")
    if m["amount"] < 0:
        raise ServiceError(400, "VALIDATION", "negative amount provided")  # wallet.ErrNegativeAmount
    return int(m["amount"]), str(m["asset"])


def _subject(s: JSON) -> str:
    """A subject → its ledger address: ACCOUNT verbatim, WALLET through the chart (balance `main` by default)."""
    if isinstance(s, dict) and s.get("type") == "ACCOUNT" and isinstance(s.get("identifier"), str):
        return str(s["identifier"])
    if isinstance(s, dict) and s.get("type") == "WALLET" and isinstance(s.get("identifier"), str):
        return balance_account(s["identifier"], str(s.get("balance") or MAIN))
    raise ServiceError(400, "VALIDATION", f"unknown subject {s!r}")  # wording guessed


def _take(led: Ledger, sources: list[str], dest: str, amount: int, asset: str) -> list[Posting] | None:
    """Numscript `send [asset amount] (source = {@s1 @s2 …} destination = @dest)`: drain sources in order.

    None when they cannot cover the amount. `world` is always unbounded.
    """
    postings, left = [], amount
    for src in sources:
        if left == 0:
            break
        available = left if src == WORLD else max(0, led.balance(src, asset))
        take = min(available, left)
        if take:
            postings.append(Posting(src, dest, take, asset))
            left -= take
    if left:
        return None
    return postings or [Posting(sources[0], dest, 0, asset)]  # a zero send still writes one posting
