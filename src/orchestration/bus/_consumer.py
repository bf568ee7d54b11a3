"""The bus consumer: every message of the configured topics through one handler, at least once.

Pull consumers rather than push ones, because:

* the process asks for a message only when it has a free slot to handle it. A push
  consumer sends up to its `max_ack_pending` at once; messages queued in the client
  meanwhile see their ack wait run out and are delivered again to another process, while
  the first still holds them.
* the processes sharing a durable split its messages by asking in turn, with no deliver
  subject or queue group to keep in step across reconnections and restarts.

One durable consumer per topic, named after the queue group and the topic (`_topics.py`),
shared by every process of the group, so each message is handled by one of them; a durable
created for the first time starts with the messages published from then on (`_streams.py`).
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.msg import Msg

from orchestration.config import BusSettings

from ._connection import BusConnection
from ._delivery import Handler, deliver
from ._pull import TopicPuller
from ._tasks import cancel_and_wait
from ._tuning import ConsumerTuning

logger = logging.getLogger(__name__)


class BusConsumer:
    """Consumes `settings.topics` from JetStream and awaits `handler` on each message.

    The handler returns: the message is acknowledged. It raises `Redeliver`: the message
    comes again after `tuning.redeliver_delay`. It raises anything else: that is logged and
    the message comes again later, each time later (up to `tuning.max_error_delay`). Up to
    `tuning.max_in_flight` messages are handled at once, in no particular order. Losing
    NATS, a missing stream, a failing handler: the consumer logs it and carries on.
    """

    def __init__(
        self,
        connection: BusConnection,
        settings: BusSettings,
        handler: Handler,
        *,
        tuning: ConsumerTuning | None = None,
    ) -> None:
        self._connection = connection
        self._settings = settings
        self._handler = handler
        self._tuning = tuning or ConsumerTuning()
        self._slots = asyncio.Semaphore(self._tuning.max_in_flight)
        self._pullers: list[asyncio.Task[None]] = []
        self._handling: set[asyncio.Task[None]] = set()
        self._closing = False
        self._closed = False

    async def start(self) -> None:
        """Begin consuming in the background (once connected); returns at once."""
        if self._pullers or self._closing:
            return
        topics = self._settings.topics
        # Each topic may take its share of the slots in one request, so that an idle
        # topic waiting for its next message holds one slot, not all of them.
        batch = max(1, self._tuning.max_in_flight // max(1, len(topics)))
        for topic in topics:
            puller = TopicPuller(self._connection, self._settings, topic, slots=self._slots, batch=batch,
                                 tuning=self._tuning, dispatch=self._dispatch)
            self._pullers.append(asyncio.create_task(puller.run(), name=f"bus-consumer:{topic}"))

    async def close(self) -> None:
        """Take no more messages, let those being handled finish (bounded), then stop.

        A pull request in flight cannot be withdrawn: close waits for it to end (at most
        `tuning.fetch_wait`) and hands back what it brought. A handler still running after
        `tuning.close_timeout` is cancelled and its message handed back unacknowledged, for
        the next consumer; nothing is acknowledged once `close()` returned. The shared
        connection stays open.
        """
        if self._closing:
            return
        self._closing = True
        await cancel_and_wait(*self._pullers)
        if self._handling:
            _, late = await asyncio.wait(set(self._handling), timeout=self._tuning.close_timeout.total_seconds())
            if late:
                logger.warning("%d message handlers still running after %ss: cancelled, their messages come again",
                               len(late), self._tuning.close_timeout.total_seconds())
                self._closed = True
                await cancel_and_wait(*late)
        self._closed = True

    def _dispatch(self, msg: Msg, ack_wait: float) -> None:
        task = asyncio.create_task(self._handle(msg, ack_wait))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, msg: Msg, ack_wait: float) -> None:
        try:
            await deliver(msg, self._handler, tuning=self._tuning, ack_wait=ack_wait, closed=lambda: self._closed)
        finally:
            self._slots.release()
