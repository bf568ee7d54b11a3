"""The process's one NATS connection, made in the background so that a bus that is down
never stops the service from starting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from orchestration.config import BusSettings

from ._bursts import FailureBurst
from ._tasks import cancel_and_wait

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT = 2
"""Seconds one attempt to reach a server may take (nats-py wants whole seconds)."""
API_TIMEOUT = 5.0
"""Seconds a JetStream API call or a publish waits for its answer."""

_UNREACHABLE = (OSError, TimeoutError, nats.errors.NoServersError, nats.errors.AuthorizationError)
"""Errors of a failed attempt to connect (as opposed to trouble on a live connection)."""


class NotConnected(Exception):
    """The connection to NATS is not up (not yet, or lost and not back yet)."""


def redact_url(url: str) -> str:
    """`url` without the `user:password@` it may carry: what may be written to a log."""
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def server_urls(settings: BusSettings) -> list[str]:
    """The servers of `--publisher-nats-url` (comma-separated)."""
    return [url.strip() for url in settings.nats_url.split(",") if url.strip()]


class BusConnection:
    """One NATS connection per process, shared by the publisher and the consumer.

    `start()` returns at once: the connection is made in the background, retried every
    `nats_reconnect_wait` (for ever when `nats_max_reconnect` is -1, else that many times),
    and remade the same way whenever it is lost. Until it is up, publishing fails with
    `PublishFailed` and the consumer waits.
    """

    def __init__(self, settings: BusSettings) -> None:
        self._settings = settings
        self._servers = server_urls(settings)
        self._shown = ", ".join(redact_url(url) for url in self._servers)
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._lost = asyncio.Event()  # set when the current connection is lost; a new one per connection
        self._closing = False
        self._burst = FailureBurst(logger)

    @property
    def connected(self) -> bool:
        """True while the connection to a NATS server is up."""
        return self._client is not None and self._client.is_connected

    async def start(self) -> None:
        """Begin connecting in the background; returns at once."""
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._connect(), name="nats-connect")

    async def close(self) -> None:
        """Close the connection (or stop trying to make it)."""
        self._closing = True
        self._up.clear()
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._client is not None and not self._client.is_closed:
            # A client cancelled half-way through its first connection may lack parts
            # that close() tidies up; there is nothing left to save in it then.
            with contextlib.suppress(Exception):
                await self._client.close()

    def jetstream(self) -> JetStreamContext:
        """JetStream over the connection; `NotConnected` unless it is up (for the publisher and consumer)."""
        if self._jetstream is None or not self.connected:
            raise NotConnected(f"not connected to NATS at {self._shown}")
        return self._jetstream

    async def unless_lost(self, operation: Coroutine[Any, Any, T]) -> T:
        """Await `operation`, or raise `NotConnected` as soon as the connection is lost meanwhile.

        nats-py keeps a request made on a dying connection waiting for an answer until its
        timeout, although it can no longer come.
        """
        lost = self._lost
        task = asyncio.ensure_future(operation)
        waiter = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not task.done():
                await cancel_and_wait(task)
        if task.cancelled() and lost.is_set():
            raise NotConnected(f"lost the connection to NATS at {self._shown}")
        return task.result()

    async def wait_connected(self) -> JetStreamContext:
        """JetStream, once the connection is up (for the consumer)."""
        while True:
            await self._up.wait()
            with contextlib.suppress(NotConnected):
                return self.jetstream()
            self._up.clear()  # a disconnection not reported yet

    async def _connect(self) -> None:
        settings = self._settings
        client = self._client = Client()
        attempts = settings.nats_max_reconnect
        try:
            await client.connect(
                servers=self._servers,
                name=settings.nats_client_id,
                # nats-py reads 0 attempts as "no limit"; no reconnection at all is what it means.
                allow_reconnect=attempts != 0,
                max_reconnect_attempts=attempts,
                # nats-py annotates this as int; it sleeps for the float it is given.
                reconnect_time_wait=settings.nats_reconnect_wait.total_seconds(),  # type: ignore[arg-type]
                connect_timeout=CONNECT_TIMEOUT,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                closed_cb=self._on_closed,
            )
        except Exception as exc:
            logger.error("gave up connecting to NATS at %s after %d attempts (%s); the bus stays down",
                         self._shown, attempts + 1, exc)
            return
        self._jetstream = client.jetstream(timeout=API_TIMEOUT)
        self._on_up()

    def _current_url(self) -> str:
        url = self._client.connected_url if self._client is not None else None
        return redact_url(url.geturl()) if url is not None else self._shown

    def _on_up(self) -> None:
        self._lost = asyncio.Event()
        self._up.set()
        self._burst.reset()
        logger.info("connected to NATS at %s", self._current_url())

    async def _on_error(self, exc: Exception) -> None:
        if self._closing:
            return
        if isinstance(exc, nats.errors.StaleConnectionError):  # the disconnection callback that follows says it
            logger.debug("NATS at %s: %s: %s", self._shown, type(exc).__name__, exc)
        elif not self.connected or isinstance(exc, _UNREACHABLE):
            self._burst.failed("cannot reach NATS at %s (%s: %s); retrying every %ss", self._shown,
                               type(exc).__name__, exc, self._settings.nats_reconnect_wait.total_seconds())
        else:  # not about reaching the server: a slow consumer, a permission refused
            logger.warning("NATS at %s reports %s: %s", self._current_url(), type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        self._up.clear()
        self._lost.set()
        if not self._closing:
            self._burst.failed("lost the connection to NATS at %s; reconnecting", self._shown)

    async def _on_reconnected(self) -> None:
        self._on_up()

    async def _on_closed(self) -> None:
        self._up.clear()
        self._lost.set()
        if not self._closing:
            logger.error("the connection to NATS at %s is closed after %d failed reconnections; the bus stays down",
                         self._shown, self._settings.nats_max_reconnect)
