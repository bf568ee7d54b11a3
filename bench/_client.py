"""The benchmarks' HTTP client: the few calls they make, over `aiohttp`.

The client runs on the same cores as the server it measures, so what it spends per request is
taken from the server: aiohttp costs about a tenth of httpx's CPU per request, which leaves the
cores to the server. Callers see a small response object and one exception type for a request
that got no answer (`TransportError`), whatever the library.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

# Printed by every benchmark that sends load, next to its first figures.
LOAD_CLIENT_LINE = f"load client: aiohttp {aiohttp.__version__} (bench._client), in the bench's process"

# The server (uvicorn) closes a connection idle for 5 s: a request sent on a connection as the
# server closes it fails. Dropping idle connections sooner avoids that race.
_KEEPALIVE_S = 4.0
_TIMEOUT_S = 60.0

Params = Mapping[str, str | int]


class TransportError(Exception):
    """No answer: the connection was refused, broken or closed, or the request timed out."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # the underlying error's class name, e.g. "ServerDisconnectedError"


class HTTPStatusError(Exception):
    """An answer with a 4xx or 5xx status, from `Response.raise_for_status()`."""


@dataclass(frozen=True)
class Response:
    """An answer, read in full."""

    method: str
    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        # Used for error messages: a body that is not UTF-8 must not hide the status.
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPStatusError(f"{self.method} {self.url} answered {self.status_code}: {self.text[:200]}")


class BenchClient:
    """Requests to one server (`base_url`, paths starting with "/"), at most `connections` open.

    Use as `async with`: the session lives inside the running event loop."""

    def __init__(self, base_url: str, *, connections: int) -> None:
        self.base_url = base_url
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BenchClient:
        connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=_KEEPALIVE_S)
        self._session = aiohttp.ClientSession(
            base_url=self.base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S)
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self, path: str, *, params: Params | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        return await self._request("GET", path, params=params, headers=headers)

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return await self._request("POST", path, json=json, params=params, headers=headers)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None,
        headers: Mapping[str, str] | None,
    ) -> Response:
        if self._session is None:
            raise RuntimeError("BenchClient used outside `async with`")
        try:
            async with self._session.request(method, path, json=json, params=params, headers=headers) as res:
                content = await res.read()
                return Response(method, str(res.url), res.status, res.headers, content)
        except aiohttp.InvalidURL:
            raise  # the caller's mistake, not the connection's
        except (aiohttp.ClientError, TimeoutError) as exc:
            # ClientError without raise_for_status: a connection refused or broken, a malformed
            # answer; TimeoutError: the total timeout.
            raise TransportError(f"{method} {path}: {type(exc).__name__}: {exc}", type(exc).__name__) from exc
