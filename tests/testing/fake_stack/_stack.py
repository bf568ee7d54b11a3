"""`FakeStack`: the fake Formance gateway served by uvicorn in a background thread on 127.0.0.1."""

from __future__ import annotations

import copy
import re
import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orchestration.http_server import HttpServer

from ._auth import TOKEN_PATH, Auth
from ._common import JSON, Answer
from ._faults import FaultQueue, Gate, Hold, RecordedRequest, RequestLog, _Fault, compile_pattern
from ._ledger import WORLD, Ledger, LedgerBook, Posting
from ._payments import PaymentBook, transfer_initiation_id_of
from ._wallets import MAIN, WalletBook

_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class FakeStack:
    """A real HTTP server faithful to the Ledger v2 (and v1 account read), Wallets, Payments and OAuth contracts.

    Usable as a context manager or through `start()`/`stop()`; state survives a stop/start (same port), so a
    test can restart the gateway. All methods are thread-safe: the server thread and the test thread share
    one re-entrant lock.

    Args:
        client_id: OAuth2 client id the token endpoint accepts; None disables authentication entirely.
        client_secret: the matching secret.
        token_ttl: lifetime of issued tokens, in seconds (`expires_in`).
        connectors: providers of the Payments connectors installed at start, one connector each. The default,
            one Stripe connector, is what a transfer initiation naming only `provider: STRIPE` needs; pass `()`
            for a stack without any.
    """

    def __init__(self, *, client_id: str | None = "orchestration", client_secret: str | None = "secret",
                 token_ttl: float = 3600, connectors: Iterable[str] = ("STRIPE",)) -> None:
        self._lock = threading.RLock()
        self._client_id, self._client_secret = client_id, client_secret
        self._auth = Auth(client_id, client_secret, token_ttl)
        self._ledgers = LedgerBook(self._lock)
        self._wallets = WalletBook(self._lock, self._ledgers)
        self._payments = PaymentBook(self._lock)
        for provider in connectors:
            self._payments.install_connector(provider)
        self._faults = FaultQueue()
        self._log = RequestLog()
        self._resources: dict[str, Answer] = {}
        self._stopping = threading.Event()
        self._port = 0
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.app = Gate(Starlette(routes=self._routes()), auth=self._auth, faults=self._faults, log=self._log,
                        stopping=self._stopping)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def server_args(self) -> list[str]:
        """The `orchestration serve` flags that point a server at this gateway, with its credentials."""
        args = ["--stack-url", self.url]
        if self._client_id is not None:
            args += ["--stack-client-id", self._client_id, "--stack-client-secret", self._client_secret or ""]
        return args

    @property
    def url(self) -> str:
        """Base URL of the gateway (the orchestration's stack URL), e.g. `http://127.0.0.1:41234`."""
        if not self._port:
            raise RuntimeError("FakeStack is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self, timeout: float = 5.0) -> FakeStack:
        """Serve on 127.0.0.1 (a free port the first time, the same port after a stop) and wait until ready."""
        if self._thread is not None:
            return self
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the listening socket
        # says TCP, and without it Nagle + delayed ACK add ~40 ms to every answer.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        self._stopping.clear()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        server = HttpServer(config)
        # Not the main thread: uvicorn installs no signal handlers, and the test keeps its own.
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-stack", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.exit_soon()
                sock.close()
                raise RuntimeError("FakeStack did not start")
            time.sleep(0.002)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; held and hung requests are let go first so the shutdown is quick."""
        if self._server is None or self._thread is None:
            return
        self._stopping.set()
        self._server.exit_soon()
        self._thread.join(timeout)
        self._sock.close()
        self._server = self._thread = None

    def __enter__(self) -> FakeStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- OAuth -------------------------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far: the next call with one gets 401 (to test the refresh)."""
        self._auth.expire_all()

    @property
    def tokens_issued(self) -> int:
        """How many tokens the token endpoint handed out."""
        return self._auth.issued

    # -- Ledger ------------------------------------------------------------------------------------------------

    def create_ledger(self, name: str) -> None:
        """Create a ledger (no-op if it exists). Calls on a missing ledger get 404 LEDGER_NOT_FOUND."""
        with self._lock:
            self._ledgers.create(name)

    def fund(self, ledger: str, account: str, asset: str, amount: int) -> dict[str, JSON]:
        """Move `amount` from `world` to `account` (a recorded transaction, as a test set-up shortcut)."""
        with self._lock:
            return self._ledgers.commit(self._ledgers.get(ledger), [Posting(WORLD, account, amount, asset)])

    def set_account_metadata(self, ledger: str, account: str, metadata: dict[str, str]) -> None:
        """Merge metadata into an account (creating it), as the Ledger's add-metadata call does."""
        with self._lock:
            self._ledgers.save_metadata(self._ledgers.get(ledger), account, dict(metadata))

    def balance(self, ledger: str, account: str, asset: str) -> int:
        """Exact balance of `account` in `asset` (0 if never used); KeyError for an unknown ledger."""
        with self._lock:
            return self._ledger(ledger).balance(account, asset)

    def transactions(self, ledger: str) -> list[dict[str, JSON]]:
        """Copies of the ledger's transactions, oldest first, as the create call answered them."""
        with self._lock:
            return copy.deepcopy(self._ledger(ledger).transactions)

    def account_metadata(self, ledger: str, account: str) -> dict[str, str]:
        """A copy of the account's metadata ({} if the account does not exist)."""
        with self._lock:
            acc = self._ledger(ledger).account(account)
            return dict(acc.metadata) if acc else {}

    def _ledger(self, name: str) -> Ledger:
        if name not in self._ledgers.ledgers:
            raise KeyError(f"no ledger {name!r} in the fake stack")
        return self._ledgers.ledgers[name]

    # -- Wallets -----------------------------------------------------------------------------------------------

    def create_wallet(self, name: str, ledger: str = "default", metadata: dict[str, str] | None = None, *,
                      id: str | None = None) -> str:
        """Create a wallet stored in `ledger` (created if missing) and return its id (a UUID unless given)."""
        with self._lock:
            return self._wallets.create(name, ledger, metadata, id)

    def create_balance(self, wallet_id: str, name: str, *, priority: int = 0) -> None:
        """Add a secondary balance to a wallet (credits to a balance that does not exist fail)."""
        with self._lock:
            self._wallets.create_balance(wallet_id, name, priority)

    def wallet_balance(self, wallet_id: str, asset: str, balance: str = MAIN) -> int:
        """Exact amount of `asset` in a wallet balance, read from its ledger account (0 if unknown)."""
        with self._lock:
            return self._wallets.balance(wallet_id, asset, balance)

    # -- Payments ----------------------------------------------------------------------------------------------

    def create_payment(self, id: str | None = None, *, amount: int, asset: str, **fields: JSON) -> str:
        """Register a payment (`initialAmount` = `amount` unless given in `fields`, camelCase keys) → its id."""
        with self._lock:
            return self._payments.create(id, amount, asset, fields)

    def transfer_initiations(self) -> list[dict[str, JSON]]:
        """Bodies of the accepted `POST /api/payments/transfer-initiations`, in order."""
        with self._lock:
            return copy.deepcopy(self._payments.initiations)

    def install_connector(self, provider: str, *, reference: str | None = None) -> str:
        """Install a Payments connector of `provider` (upper case, e.g. `WISE`) and return its id.

        The id is the real service's (base64url JSON of the provider and a UUID: `reference`, random if None).
        """
        with self._lock:
            return self._payments.install_connector(provider, reference)

    def uninstall_connector(self, connector_id: str) -> None:
        """Remove an installed connector (KeyError if unknown); its transfer initiations stay readable."""
        with self._lock:
            self._payments.uninstall_connector(connector_id)

    def connectors(self) -> dict[str, str]:
        """Installed connectors: id -> provider, in installation order."""
        with self._lock:
            return {c.id: c.provider for c in self._payments.connectors.values()}

    @staticmethod
    def transfer_initiation_id(reference: str, connector_id: str) -> str:
        """The id Payments gives the transfer initiation `reference` on that connector (what GET takes)."""
        return transfer_initiation_id_of(reference, connector_id)

    # -- anything else -----------------------------------------------------------------------------------------

    def add_resource(self, path: str, data: JSON, *, status: int = 200) -> None:
        """Answer `GET path` with `{"data": data}` (e.g. the target of a trigger's `link()`)."""
        with self._lock:
            self._resources[path] = Answer(status, {"data": data})

    # -- faults and request log --------------------------------------------------------------------------------

    def fail_next(self, method: str, path_pattern: str | re.Pattern[str], times: int | None = 1, status: int = 503,
                  code: str | None = "INTERNAL", message: str = "fake stack: injected failure") -> None:
        """Answer the next `times` matching requests with `status` and `{"errorCode": code, "errorMessage"}`.

        The service never sees them (nothing is written). `times=None`: every matching request until
        `clear_faults()`. `code=None` sends `message` as a text/plain body. `path_pattern` is a regular
        expression matched against the whole path (a literal path matches itself).
        """
        self._faults.add(_Fault(method.upper(), compile_pattern(path_pattern), "fail", times, status, code, message))

    def hang_next(self, method: str, path_pattern: str | re.Pattern[str], seconds: float,
                  times: int | None = 1) -> None:
        """Delay the next `times` matching requests by `seconds`, then process and answer them normally."""
        self._faults.add(_Fault(method.upper(), compile_pattern(path_pattern), "hang", times, seconds=seconds))

    def hold(self, method: str, path_pattern: str | re.Pattern[str]) -> Hold:
        """Process the next matching request fully but withhold its answer until `Hold.release()`."""
        hold = Hold(method.upper(), str(path_pattern))
        self._faults.add(_Fault(method.upper(), compile_pattern(path_pattern), "hold", hold=hold))
        return hold

    def clear_faults(self) -> None:
        """Drop every queued fault (holds already waiting keep waiting until released or stop())."""
        self._faults.clear()

    def requests(self, method: str | None = None,
                 path_pattern: str | re.Pattern[str] | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first, filtered by method and by a regex matched on the whole path."""
        return self._log.select(method, path_pattern)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._log.clear()

    # -- routing -----------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        led, wal, pay = self._ledgers, self._wallets, self._payments
        return [
            Route(TOKEN_PATH, self._auth.token_endpoint, methods=["POST"]),
            Route("/api/ledger/v2/{ledger}/transactions", led.create_transaction, methods=["POST"]),
            Route("/api/ledger/v2/{ledger}/accounts/{address}/metadata", led.add_account_metadata, methods=["POST"]),
            Route("/api/ledger/v2/{ledger}/accounts/{address}", led.read_account_v2, methods=["GET"]),
            Route("/api/ledger/{ledger}/accounts/{address}", led.read_account_v1, methods=["GET"]),
            Route("/api/wallets/wallets", wal.list_wallets, methods=["GET"]),
            Route("/api/wallets/wallets/{wallet_id}", wal.get_wallet, methods=["GET"]),
            Route("/api/wallets/wallets/{wallet_id}/credit", wal.credit, methods=["POST"]),
            Route("/api/wallets/wallets/{wallet_id}/debit", wal.debit, methods=["POST"]),
            Route("/api/payments/payments/{payment_id}", pay.get_payment, methods=["GET"]),
            Route("/api/payments/transfer-initiations", pay.create_transfer_initiation, methods=["POST"]),
            Route("/api/payments/transfer-initiations/{transfer_id}", pay.get_transfer_initiation, methods=["GET"]),
            Route("/{path:path}", self._resource, methods=_ANY),  # unknown routes: 404, not 405
        ]

    async def _resource(self, request: Request) -> Response:
        with self._lock:
            answer = self._resources.get(request.url.path) if request.method in ("GET", "HEAD") else None
        if answer is None:
            return PlainTextResponse("Not Found", status_code=404)
        return answer.to_response()
