"""The consumer across a nats-server SIGKILL and restart in the middle of a stream of messages."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from nats.js import JetStreamContext

from orchestration.bus import NatsPublisher, PublishFailed
from tests.testing.nats import NatsServer
from tests.testing.waiting import assert_eventually

from .conftest import FAST_TUNING, Bus, Recorder, all_acknowledged, durable_ready, publish_all, wait_handled


async def publish_once_taken(publisher: NatsPublisher, topic: str, data: bytes) -> None:
    """Publish, retrying while the bus is not back: what the service's own outbox does."""

    async def taken() -> bool:
        try:
            await publisher.publish(topic, data, message_id=data.decode())
        except PublishFailed:
            return False
        return True

    await assert_eventually(taken, interval=0.05, what=f"{data!r} to be published")


async def test_nothing_published_is_lost_when_nats_is_killed_and_restarted_mid_stream(
    bus: Bus, nats_server: NatsServer, inspector: JetStreamContext, topic: str
) -> None:
    gate = asyncio.Event()

    async def some_wait(data: bytes, delivery: int) -> None:
        if data.startswith(b"held"):
            await gate.wait()  # in hand when the server dies; acknowledged only after

    recorder = Recorder(some_wait)
    # An acknowledgement lost with the server leaves its message to come again after the ack wait.
    await bus.consumer(recorder, (topic,), tuning=replace(FAST_TUNING, ack_wait=timedelta(seconds=1)))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()
    before = [f"before-{n}".encode() for n in range(20)]
    held = [f"held-{n}".encode() for n in range(3)]
    await publish_all(publisher, topic, before + held)
    await wait_handled(recorder, *before, *held)

    nats_server.kill()
    with pytest.raises(PublishFailed):
        await asyncio.wait_for(publisher.publish(topic, b"while-dead", message_id="while-dead"), 30)
    gate.set()  # their acknowledgements go nowhere: the messages must come again
    nats_server.restart()
    after = [f"after-{n}".encode() for n in range(20)]
    for data in after:
        await publish_once_taken(publisher, topic, data)

    await wait_handled(recorder, *before, *held, *after)
    await all_acknowledged(inspector, topic)
    assert set(recorder.payloads()) == set(before + held + after)
