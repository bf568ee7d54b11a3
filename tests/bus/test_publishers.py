"""Event publishers: every implementation (`memory`, `nats`) against one suite; NATS-only tests say so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from orchestration.bus import EventPublisher, MemoryPublisher, NatsPublisher, PublishedMessage, PublishFailed
from orchestration.bus._nats_publisher import MSG_ID_HEADER
from tests.testing.nats import NatsServer, require_nats_server
from tests.testing.waiting import assert_eventually

from .conftest import Bus, bus_settings, new_topic

MAPPING = ("*:mapped-everything", "special:mapped-special")


async def stored(js: JetStreamContext, subject: str) -> list[PublishedMessage]:
    """What JetStream holds on `subject`, oldest first."""
    try:
        stream = await js.find_stream_name_by_subject(subject)
    except NotFoundError:
        return []
    state = (await js.stream_info(stream)).state
    found = []
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        msg = await js.get_msg(stream, seq)
        if msg.subject == subject:
            found.append(PublishedMessage(subject, msg.data or b"", (msg.headers or {}).get(MSG_ID_HEADER, "")))
    return found


@dataclass
class Target:
    """A publisher, and how to read back what it published on a subject."""

    publisher: EventPublisher
    read: Callable[[str], Awaitable[list[PublishedMessage]]]


@pytest.fixture(params=["memory", "nats"])
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    if request.param == "memory":
        memory = MemoryPublisher(MAPPING)

        async def read_memory(subject: str) -> list[PublishedMessage]:
            return [message for message in memory.published if message.subject == subject]

        yield Target(memory, read_memory)
        return
    server = NatsServer(require_nats_server()).start()
    bus = Bus(server)
    client = await nats.connect(server.url)
    js = client.jetstream()
    try:
        yield Target(await bus.publisher(topic_mapping=MAPPING), lambda subject: stored(js, subject))
    finally:
        await bus.close()
        await client.close()
        server.stop()


async def test_publish_stores_the_message_on_the_mapped_subject(target: Target) -> None:
    await target.publisher.publish("orchestration", b'{"type":"STARTED_WORKFLOW"}', message_id="event-1")
    await target.publisher.publish("special", b"{}", message_id="event-2")

    assert await target.read("mapped-everything") == [
        PublishedMessage("mapped-everything", b'{"type":"STARTED_WORKFLOW"}', "event-1")
    ]
    assert await target.read("mapped-special") == [PublishedMessage("mapped-special", b"{}", "event-2")]
    assert await target.read("orchestration") == []


async def test_a_message_id_published_twice_is_stored_once(target: Target) -> None:
    await target.publisher.publish("orchestration", b"first", message_id="same")
    await target.publisher.publish("orchestration", b"second", message_id="same")
    await target.publisher.publish("orchestration", b"other", message_id="other")

    assert [(m.data, m.message_id) for m in await target.read("mapped-everything")] == [
        (b"first", "same"),
        (b"other", "other"),
    ]


async def test_publish_after_close_fails(target: Target) -> None:
    await target.publisher.close()
    with pytest.raises(PublishFailed, match="closed"):
        await target.publisher.publish("orchestration", b"late", message_id="late")


async def test_memory_publisher_keeps_only_the_newest_messages() -> None:
    publisher = MemoryPublisher(keep=2)
    for n in range(3):
        await publisher.publish("t", str(n).encode(), message_id=str(n))
    assert [m.data for m in publisher.published] == [b"1", b"2"]


async def test_nats_auto_provision_creates_a_stream_named_after_the_subject(
    bus: Bus, inspector: JetStreamContext
) -> None:
    subject = f"{new_topic()}.events"  # a dot: not allowed in a stream name
    publisher = await bus.publisher(topic_mapping=(f"*:{subject}",))

    await publisher.publish("orchestration", b"{}", message_id="m1")

    stream = await inspector.find_stream_name_by_subject(subject)
    assert stream == subject.replace(".", "_")
    assert (await inspector.stream_info(stream)).config.subjects == [subject]


async def test_nats_an_existing_stream_capturing_the_subject_is_used(bus: Bus, inspector: JetStreamContext) -> None:
    prefix = new_topic()
    await inspector.add_stream(StreamConfig(name="operators-own", subjects=[f"{prefix}.>"]))
    publisher = await bus.publisher()

    await publisher.publish(f"{prefix}.orchestration", b"{}", message_id="m1")

    assert [s.config.name for s in await inspector.streams_info()] == ["operators-own"]
    assert (await inspector.stream_info("operators-own")).state.messages == 1


async def test_nats_without_auto_provision_publish_fails_when_no_stream_captures_the_subject(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    publisher = await bus.publisher(nats_auto_provision=False)

    with pytest.raises(PublishFailed, match=f"no JetStream stream captures subject '{topic}'"):
        await publisher.publish(topic, b"{}", message_id="m1")
    assert await inspector.streams_info() == []

    await inspector.add_stream(StreamConfig(name="made-by-hand", subjects=[topic]))
    await publisher.publish(topic, b"{}", message_id="m1")
    assert (await inspector.stream_info("made-by-hand")).state.messages == 1


async def test_nats_a_deleted_stream_is_provisioned_again(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    publisher = await bus.publisher()
    await publisher.publish(topic, b"{}", message_id="m1")
    await inspector.delete_stream(topic)

    with pytest.raises(PublishFailed, match="no JetStream stream captures"):
        await publisher.publish(topic, b"{}", message_id="m2")
    await publisher.publish(topic, b"{}", message_id="m3")

    assert [m.message_id for m in await stored(inspector, topic)] == ["m3"]


async def test_nats_publish_fails_at_once_while_nats_is_down_and_works_once_it_is_back(
    bus: Bus, nats_server: NatsServer, inspector: JetStreamContext, topic: str
) -> None:
    publisher = await bus.publisher()
    await publisher.publish(topic, b"before", message_id="before")
    nats_server.kill()

    with pytest.raises(PublishFailed):
        # The bound only keeps a broken publisher from hanging the suite; it measures nothing.
        await asyncio.wait_for(publisher.publish(topic, b"down", message_id="down"), 30)

    nats_server.restart()

    async def publish_after() -> bool:
        try:
            await publisher.publish(topic, b"after", message_id="after")
        except PublishFailed:
            return False
        return True

    await assert_eventually(publish_after, what="a publish to succeed after the restart")
    assert [m.message_id for m in await stored(inspector, topic)] == ["before", "after"]


async def test_nats_publish_fails_when_nats_was_never_reached(nats_server: NatsServer, bus: Bus) -> None:
    nats_server.kill()
    connection = await bus.connection()
    publisher = NatsPublisher(connection, bus_settings(nats_server))

    with pytest.raises(PublishFailed, match="not connected to NATS"):
        await asyncio.wait_for(publisher.publish("orchestration", b"{}", message_id="m1"), 30)
