"""A real nats-server with JetStream per test, and what the bus tests build on it."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import nats
import nats.errors
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from orchestration.bus import BusConnection, BusConsumer, ConsumerTuning, NatsPublisher
from orchestration.bus._topics import durable_name
from orchestration.config import BusSettings
from tests.testing.nats import NatsServer
from tests.testing.waiting import assert_eventually

MS = timedelta(milliseconds=1)

# Short waits so that retries, redeliveries and restarts take a fraction of a second.
FAST_TUNING = ConsumerTuning(
    ack_wait=timedelta(seconds=30),
    redeliver_delay=200 * MS,
    max_error_delay=400 * MS,
    fetch_wait=300 * MS,
    close_timeout=timedelta(seconds=10),
)


def bus_settings(server: NatsServer, **changes: Any) -> BusSettings:
    """Settings of a bus on `server`, reconnecting every 50 ms."""
    return BusSettings(**{"nats_enabled": True, "nats_url": server.url, "nats_reconnect_wait": 50 * MS, **changes})


def new_topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


class Recorder:
    """A handler that records every message it is given, then does what `behaviour` says.

    `behaviour(data, delivery)` runs after recording; `delivery` counts from 1 per payload.
    """

    def __init__(self, behaviour: Callable[[bytes, int], Awaitable[None]] | None = None) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.behaviour = behaviour

    async def __call__(self, subject: str, data: bytes) -> None:
        self.calls.append((subject, data))
        if self.behaviour is not None:
            await self.behaviour(data, self.times(data))

    def times(self, data: bytes) -> int:
        return sum(1 for _, seen in self.calls if seen == data)

    def payloads(self) -> Counter[bytes]:
        return Counter(data for _, data in self.calls)


@pytest.fixture
async def inspector(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    """A plain nats-py client, to look at streams and consumers as the server sees them."""
    async def quiet(exc: Exception) -> None:
        pass  # tests kill the server on purpose: no traceback per reconnection attempt

    client = await nats.connect(nats_server.url, reconnect_time_wait=0.05, max_reconnect_attempts=-1, error_cb=quiet)
    yield client.jetstream(timeout=2)
    await client.close()


@pytest.fixture
def topic() -> str:
    return new_topic()


class Bus:
    """Connections, publishers and consumers on one server, all closed at the end of the test."""

    def __init__(self, server: NatsServer) -> None:
        self.server = server
        self._closers: list[Callable[[], Awaitable[None]]] = []

    async def connection(self, **changes: Any) -> BusConnection:
        connection = BusConnection(bus_settings(self.server, **changes))
        self._closers.append(connection.close)
        await connection.start()
        return connection

    async def publisher(self, **changes: Any) -> NatsPublisher:
        connection = await self.connection(**changes)
        await assert_eventually(lambda: connection.connected, what="the publisher's connection")
        publisher = NatsPublisher(connection, bus_settings(self.server, **changes))
        self._closers.append(publisher.close)
        return publisher

    async def consumer(
        self, handler: Recorder, topics: tuple[str, ...], *, tuning: ConsumerTuning = FAST_TUNING, **changes: Any
    ) -> BusConsumer:
        """A started consumer of `topics` (its connection of its own, like another process)."""
        connection = await self.connection(**changes)
        consumer = BusConsumer(connection, bus_settings(self.server, topics=topics, **changes), handler, tuning=tuning)
        self._closers.append(consumer.close)
        await consumer.start()
        return consumer

    async def close(self) -> None:
        for close in reversed(self._closers):
            await close()


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    made = Bus(nats_server)
    yield made
    await made.close()


async def durable_ready(js: JetStreamContext, topic: str, queue_group: str = "orchestration") -> None:
    """Wait until the durable of `queue_group` on `topic` exists: messages published from now on reach it."""

    async def exists() -> bool:
        try:
            stream = await js.find_stream_name_by_subject(topic)
            await js.consumer_info(stream, durable_name(queue_group, topic))
        except (NotFoundError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return False  # not yet; or the server is just back and JetStream not yet
        return True

    await assert_eventually(exists, what=f"the durable of {queue_group} on {topic}")


async def publish_all(publisher: NatsPublisher, topic: str, payloads: list[bytes]) -> None:
    for data in payloads:
        await publisher.publish(topic, data, message_id=data.decode())


async def wait_handled(recorder: Recorder, *payloads: bytes, timeout: float = 15.0) -> None:
    await assert_eventually(
        lambda: set(payloads) <= set(recorder.payloads()),
        timeout=timeout,
        what=f"{len(payloads)} messages handled",
    )


async def marker_handled(publisher: NatsPublisher, recorder: Recorder, topic: str) -> None:
    """Publish a last message and wait until it is handled.

    Delivery follows publication, so once it is handled, anything published before it
    that was going to come again (not acknowledged) has had its chance: with the short
    waits of these tests, within the same bound.
    """
    marker = f"marker-{uuid.uuid4().hex[:8]}".encode()
    await publisher.publish(topic, marker, message_id=marker.decode())
    await wait_handled(recorder, marker)


async def forever() -> None:
    """A handler's work that never ends by itself (only a cancellation stops it)."""
    await asyncio.Event().wait()


async def all_acknowledged(js: JetStreamContext, topic: str, queue_group: str = "orchestration") -> Any:
    """Wait until the durable has nothing pending and nothing unacknowledged; its ConsumerInfo.

    This is the server's own word that every message delivered was acknowledged.
    """
    stream = await js.find_stream_name_by_subject(topic)
    return await assert_eventually(
        lambda: js.consumer_info(stream, durable_name(queue_group, topic)),
        lambda info: info.num_pending == 0 and info.num_ack_pending == 0,
        what=f"every message on {topic} acknowledged",
    )
