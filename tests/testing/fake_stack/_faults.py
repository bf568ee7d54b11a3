"""The gateway in front of the fake services: request log, bearer-token check, scripted faults.

An ASGI middleware, in this order for every request: record it; 401 without a valid token (not on the token
route); then the first queued fault whose method and path pattern match (faults are consumed in the order they
were queued, each matching only its own route):

* fail — answer `status` with `{"errorCode", "errorMessage"}` without reaching the service (nothing is written);
* hang — wait `seconds`, then let the service process and answer as usual;
* hold — let the service process the request fully (a posting IS written), keep the answer until
  `Hold.release()`; `stop()` of the stack releases everything still held.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..faults import take_fault
from ._auth import TOKEN_PATH, UNAUTHORIZED_BODY, Auth
from ._common import JSON, json_dumps

_POLL = 0.005  # seconds between checks of a hold/hang from the event loop; the test thread flips plain flags


@dataclass
class RecordedRequest:
    """One request as the fake gateway received it, and the status it answered (None until answered)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: JSON  # the parsed body, None when it is not JSON
    received_at: float = field(default_factory=time.monotonic)
    status: int | None = None

    @property
    def idempotency_key(self) -> str | None:
        """The `Idempotency-Key` header, if sent."""
        return self.headers.get("idempotency-key")

    @property
    def authorization(self) -> str | None:
        """The `Authorization` header, if sent."""
        return self.headers.get("authorization")


class Hold:
    """A request whose answer is withheld: created by `FakeStack.hold()`, released from the test thread."""

    def __init__(self, method: str, path_pattern: str) -> None:
        self.method, self.path_pattern = method, path_pattern
        self.request: RecordedRequest | None = None
        self._arrived = threading.Event()
        self._released = threading.Event()

    def wait_arrived(self, timeout: float | None = None) -> bool:
        """Block until the held request came in and was processed; False on timeout."""
        return self._arrived.wait(timeout)

    def release(self) -> None:
        """Deliver the withheld answer (immediately if the request is still to come)."""
        self._released.set()

    @property
    def arrived(self) -> bool:
        """Whether the held request came in and was processed."""
        return self._arrived.is_set()


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    kind: Literal["fail", "hang", "hold"]
    times: int | None = 1  # None: every matching request, forever
    status: int = 503
    code: str | None = "INTERNAL"
    message: str = ""
    seconds: float = 0.0
    hold: Hold | None = None


def compile_pattern(path_pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """Path patterns are regular expressions matched against the whole path (a literal path matches itself)."""
    return path_pattern if isinstance(path_pattern, re.Pattern) else re.compile(path_pattern)


class FaultQueue:
    """Queued faults, consumed first-match-first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []

    def add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            return take_fault(self._faults, lambda f: f.method == method and f.pattern.fullmatch(path) is not None)


class RequestLog:
    """Every request received, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def select(self, method: str | None, path_pattern: str | re.Pattern[str] | None) -> list[RecordedRequest]:
        pattern = compile_pattern(path_pattern) if path_pattern is not None else None
        with self._lock:
            return [e for e in self._entries
                    if (method is None or e.method == method.upper())
                    and (pattern is None or pattern.fullmatch(e.path))]


class Gate:
    """ASGI middleware implementing the gateway behaviour described in the module docstring."""

    def __init__(self, app: ASGIApp, *, auth: Auth, faults: FaultQueue, log: RequestLog,
                 stopping: threading.Event) -> None:
        self.app, self.auth, self.faults, self.log, self.stopping = app, auth, faults, log, stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            parsed: JSON = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        rec = RecordedRequest(scope["method"], scope["path"],
                              parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                              headers, body, parsed)
        self.log.add(rec)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the service waits for a disconnect: pass the real one through

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                rec.status = message["status"]
            await send(message)

        if rec.path != TOKEN_PATH and not self.auth.accepts(rec.authorization):
            await _raw(answer, 401, UNAUTHORIZED_BODY, b"text/plain; charset=utf-8")
            return
        fault = self.faults.take(rec.method, rec.path)
        if fault is not None and fault.kind == "fail":
            if fault.code is None:  # e.g. a proxy's own error page
                await _raw(answer, fault.status, fault.message.encode(), b"text/plain; charset=utf-8")
            else:
                payload = json_dumps({"errorCode": fault.code, "errorMessage": fault.message}).encode()
                await _raw(answer, fault.status, payload, b"application/json")
            return
        if fault is not None and fault.kind == "hang":
            deadline = time.monotonic() + fault.seconds
            while time.monotonic() < deadline and not self.stopping.is_set():
                await asyncio.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
        if fault is not None and fault.kind == "hold" and fault.hold is not None:
            withheld: list[Message] = []

            async def keep(message: Message) -> None:
                withheld.append(message)

            await self.app(scope, replay, keep)
            hold = fault.hold
            hold.request = rec
            hold._arrived.set()
            while not hold._released.is_set() and not self.stopping.is_set():
                await asyncio.sleep(_POLL)
            for message in withheld:
                await answer(message)
            return
        await self.app(scope, replay, answer)


async def _raw(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
