"""Pulling one topic's messages from its durable consumer, for as long as the process runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from orchestration.config import BusSettings

from ._bursts import FailureBurst
from ._connection import BusConnection, NotConnected
from ._streams import DurableUnusable, StreamMissing, find_or_create_durable, find_or_create_stream
from ._topics import durable_name
from ._tuning import ConsumerTuning

logger = logging.getLogger(__name__)

DEFAULT_ACK_WAIT = 30.0
"""JetStream's ack wait for a durable created without one."""

Dispatch = Callable[[Msg, float], None]
"""Takes a fetched message (and its durable's ack wait in seconds) and its slot."""


class TopicPuller:
    """Pulls `topic` through its durable consumer and dispatches each message, never giving up.

    A message is fetched only once one of the shared `slots` is free for it, so that a
    process never holds more messages than it is handling: a message waiting in a client
    buffer would see its ack wait run out and be delivered again elsewhere meanwhile.
    """

    def __init__(
        self,
        connection: BusConnection,
        settings: BusSettings,
        topic: str,
        *,
        slots: asyncio.Semaphore,
        batch: int,
        tuning: ConsumerTuning,
        dispatch: Dispatch,
    ) -> None:
        self._connection = connection
        self._settings = settings
        self._topic = topic
        self._durable = durable_name(settings.queue_group, topic)
        self._slots = slots
        self._batch = batch
        self._tuning = tuning
        self._dispatch = dispatch
        self._burst = FailureBurst(logger)

    async def run(self) -> None:
        """Consume until cancelled: every failure is logged and followed by a fresh start."""
        retry = self._settings.nats_reconnect_wait.total_seconds()
        while True:
            sub: JetStreamContext.PullSubscription | None = None
            try:
                js = await self._connection.wait_connected()
                sub, ack_wait = await self._subscribe(js)
                await self._pull(sub, ack_wait)
            except StreamMissing as exc:
                self._burst.failed("%s and --publisher-nats-auto-provision is off: nothing consumed until a stream "
                                   "captures it; looking again every %ss", exc, retry)
            except DurableUnusable as exc:
                self._burst.failed("%s; looking again every %ss", exc, retry)
            except (NotConnected, nats.errors.Error, TimeoutError, OSError) as exc:
                self._burst.failed("consuming %s stopped (%s: %s); starting again every %ss",
                                   self._topic, type(exc).__name__, exc, retry)
            except Exception:
                self._burst.failed("consuming %s stopped on an unexpected error; starting again every %ss",
                                   self._topic, retry, exc_info=True)
            finally:
                if sub is not None:
                    with contextlib.suppress(Exception):  # the connection may be gone with it
                        await sub.unsubscribe()
            await asyncio.sleep(retry)

    async def _subscribe(self, js: JetStreamContext) -> tuple[JetStreamContext.PullSubscription, float]:
        stream = await find_or_create_stream(js, self._topic, auto_provision=self._settings.nats_auto_provision)
        info = await find_or_create_durable(
            js, stream, subject=self._topic, name=self._durable, ack_wait=self._tuning.ack_wait
        )
        sub = await js.pull_subscribe_bind(durable=self._durable, stream=stream.name)
        self._burst.reset()
        logger.info("consuming %s through durable consumer %s on stream %s", self._topic, self._durable, stream.name)
        return sub, info.config.ack_wait or DEFAULT_ACK_WAIT

    async def _pull(self, sub: JetStreamContext.PullSubscription, ack_wait: float) -> None:
        """Fetch and dispatch until something goes wrong (which raises)."""
        while True:
            await self._slots.acquire()
            try:
                # One message at a time while idle: a request for several would be
                # answered only once they all came, or at the end of the wait.
                fetched = await _fetch(sub, 1, timeout=self._tuning.fetch_wait.total_seconds())
            except TimeoutError:
                self._slots.release()
                await self._check_durable(sub)
                continue
            except BaseException:
                self._slots.release()
                raise
            self._dispatch(fetched[0], ack_wait)
            await self._fetch_waiting(sub, ack_wait)

    async def _fetch_waiting(self, sub: JetStreamContext.PullSubscription, ack_wait: float) -> None:
        """After a message came, take those waiting behind it in one request, as many as slots are free."""
        reserved = 0
        while reserved < self._batch - 1 and not self._slots.locked():
            await self._slots.acquire()  # a slot is free: returns at once
            reserved += 1
        if not reserved:
            return
        taken = 0
        try:
            for msg in await _fetch(sub, reserved, timeout=self._tuning.batch_wait.total_seconds()):
                self._dispatch(msg, ack_wait)
                taken += 1
        except TimeoutError:
            pass  # nothing was waiting
        finally:
            for _ in range(reserved - taken):
                self._slots.release()

    async def _check_durable(self, sub: JetStreamContext.PullSubscription) -> None:
        """On an idle topic, make sure that silence is not a lost connection or a deleted durable."""
        if not self._connection.connected:
            raise NotConnected("the connection to NATS is down")
        await sub.consumer_info()  # NotFoundError if deleted: subscribing again creates it anew


async def _fetch(sub: JetStreamContext.PullSubscription, batch: int, *, timeout: float) -> list[Msg]:
    """`sub.fetch`, except that a cancellation lets the pull request end and hands back what it brought.

    A pull request cannot be withdrawn: cut short, it would still take messages published
    until it expires, and they would reach no one until their ack wait ran out.
    """
    request = asyncio.ensure_future(sub.fetch(batch, timeout=timeout))
    try:
        return await asyncio.shield(request)
    except asyncio.CancelledError:
        while not request.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({request})  # ends within `timeout`; being cancelled again does not cut it
        if not request.cancelled() and request.exception() is None:
            for msg in request.result():
                with contextlib.suppress(nats.errors.Error):
                    await msg.nak()
        raise
