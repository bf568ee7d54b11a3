"""The bus consumer against a real nats-server: acknowledgements, redeliveries, queue groups, close."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig

from orchestration.bus import Redeliver
from orchestration.bus._topics import durable_name
from tests.testing.nats import NatsServer
from tests.testing.waiting import assert_eventually

from .conftest import (
    FAST_TUNING,
    Bus,
    Recorder,
    all_acknowledged,
    durable_ready,
    forever,
    marker_handled,
    publish_all,
    wait_handled,
)


async def test_a_handled_message_is_acknowledged_and_not_handled_again(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    recorder = Recorder()
    await bus.consumer(recorder, (topic,))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()

    await publisher.publish(topic, b'{"type":"COMMITTED_TRANSACTIONS"}', message_id="m1")
    await wait_handled(recorder, b'{"type":"COMMITTED_TRANSACTIONS"}')

    info = await all_acknowledged(inspector, topic)
    assert info.num_redelivered == 0
    await marker_handled(publisher, recorder, topic)
    assert recorder.calls[0] == (topic, b'{"type":"COMMITTED_TRANSACTIONS"}')
    assert recorder.times(b'{"type":"COMMITTED_TRANSACTIONS"}') == 1


async def test_messages_published_while_no_consumer_runs_are_handled_when_one_starts(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    first = await bus.consumer(Recorder(), (topic,))
    await durable_ready(inspector, topic)
    await first.close()
    publisher = await bus.publisher()
    payloads = [f"while-away-{n}".encode() for n in range(5)]
    await publish_all(publisher, topic, payloads)

    recorder = Recorder()
    await bus.consumer(recorder, (topic,))

    await wait_handled(recorder, *payloads)
    await all_acknowledged(inspector, topic)


async def test_a_new_durable_on_an_existing_stream_starts_with_new_messages(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    publisher = await bus.publisher()
    await publisher.publish(topic, b"from-before-the-service", message_id="old")

    recorder = Recorder()
    await bus.consumer(recorder, (topic,))
    await durable_ready(inspector, topic)
    await marker_handled(publisher, recorder, topic)

    assert recorder.times(b"from-before-the-service") == 0


async def test_the_consumer_creates_the_stream_of_its_topic(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    recorder = Recorder()
    await bus.consumer(recorder, (topic,))
    await durable_ready(inspector, topic)

    assert (await inspector.stream_info(topic)).config.subjects == [topic]
    info = await inspector.consumer_info(topic, durable_name("orchestration", topic))
    assert info.config.durable_name == "orchestration_" + topic
    assert info.config.filter_subject == topic
    assert info.config.deliver_subject is None  # a pull consumer
    assert info.config.ack_wait == FAST_TUNING.ack_wait.total_seconds()


async def test_redeliver_brings_the_message_again(bus: Bus, inspector: JetStreamContext, topic: str) -> None:
    async def not_yet(data: bytes, delivery: int) -> None:
        if delivery < 3:
            raise Redeliver

    recorder = Recorder(not_yet)
    await bus.consumer(recorder, (topic,))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()

    await publisher.publish(topic, b"try-three-times", message_id="m1")

    await assert_eventually(lambda: recorder.times(b"try-three-times") == 3, what="three deliveries")
    await all_acknowledged(inspector, topic)
    await marker_handled(publisher, recorder, topic)
    assert recorder.times(b"try-three-times") == 3


async def test_a_failing_handler_is_logged_and_its_message_comes_again_while_others_flow(
    bus: Bus, inspector: JetStreamContext, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails_once(data: bytes, delivery: int) -> None:
        if data == b"poison" and delivery == 1:
            raise RuntimeError("the dispatcher broke")

    recorder = Recorder(fails_once)
    await bus.consumer(recorder, (topic,))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()

    await publisher.publish(topic, b"poison", message_id="poison")
    await publish_all(publisher, topic, [b"good-1", b"good-2"])

    await wait_handled(recorder, b"good-1", b"good-2")
    await assert_eventually(lambda: recorder.times(b"poison") == 2, what="the failed message again")
    await all_acknowledged(inspector, topic)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert "the handler failed" in failures[0].getMessage() and "poison" not in caplog.text  # no message bodies


async def test_at_most_max_in_flight_messages_are_handled_at_once(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    release = asyncio.Event()

    async def held(data: bytes, delivery: int) -> None:
        await release.wait()

    recorder = Recorder(held)
    await bus.consumer(recorder, (topic,), tuning=replace(FAST_TUNING, max_in_flight=4))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()
    payloads = [f"m{n}".encode() for n in range(10)]
    await publish_all(publisher, topic, payloads)

    # Once four are held and no pull request is waiting, no fifth can come.
    stream = await inspector.find_stream_name_by_subject(topic)
    await assert_eventually(
        lambda: inspector.consumer_info(stream, durable_name("orchestration", topic)),
        lambda info: info.num_ack_pending == 4 and info.num_waiting == 0 and info.num_pending == 6,
        what="four messages delivered, six waiting",
    )
    assert len(recorder.calls) == 4

    release.set()
    await wait_handled(recorder, *payloads)
    assert len(recorder.calls) == 10


async def test_two_consumers_of_one_queue_group_share_the_messages_each_handled_once(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    release = asyncio.Event()

    async def held(data: bytes, delivery: int) -> None:
        await release.wait()

    tuning = replace(FAST_TUNING, max_in_flight=32)
    first, second = Recorder(held), Recorder(held)
    await bus.consumer(first, (topic,), tuning=tuning)
    await bus.consumer(second, (topic,), tuning=tuning)
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()
    payloads = [f"m{n}".encode() for n in range(50)]
    await publish_all(publisher, topic, payloads)

    # Each holds at most 32 at once: both must have taken some of the 50.
    await assert_eventually(lambda: len(first.calls) + len(second.calls) == 50, what="all 50 delivered")
    assert first.calls and second.calls
    release.set()
    info = await all_acknowledged(inspector, topic)

    assert info.num_redelivered == 0
    assert first.payloads() + second.payloads() == {data: 1 for data in payloads}
    assert not set(first.payloads()) & set(second.payloads())


async def test_another_queue_group_gets_its_own_copy(bus: Bus, inspector: JetStreamContext, topic: str) -> None:
    ours, theirs = Recorder(), Recorder()
    await bus.consumer(ours, (topic,))
    await bus.consumer(theirs, (topic,), queue_group="other.group")
    await durable_ready(inspector, topic)
    await durable_ready(inspector, topic, queue_group="other.group")
    publisher = await bus.publisher()
    payloads = [f"m{n}".encode() for n in range(10)]

    await publish_all(publisher, topic, payloads)

    await wait_handled(ours, *payloads)
    await wait_handled(theirs, *payloads)
    await all_acknowledged(inspector, topic)
    await all_acknowledged(inspector, topic, queue_group="other.group")
    assert ours.payloads() == theirs.payloads() == {data: 1 for data in payloads}


async def test_one_consumer_reads_several_topics(bus: Bus, inspector: JetStreamContext, topic: str) -> None:
    other = f"{topic}-2"
    recorder = Recorder()
    await bus.consumer(recorder, (topic, other))
    await durable_ready(inspector, topic)
    await durable_ready(inspector, other)
    publisher = await bus.publisher()

    await publisher.publish(topic, b"one", message_id="one")
    await publisher.publish(other, b"two", message_id="two")

    await wait_handled(recorder, b"one", b"two")
    assert sorted(recorder.calls) == sorted([(topic, b"one"), (other, b"two")])


async def test_a_long_handler_keeps_its_message(bus: Bus, inspector: JetStreamContext, topic: str) -> None:
    ack_wait = 0.6

    async def outlives_the_ack_wait(data: bytes, delivery: int) -> None:
        if data == b"long":
            # The work itself, three ack waits long: without in-progress signals JetStream would
            # deliver the message again meanwhile (to this consumer, which has free slots).
            await asyncio.sleep(3 * ack_wait)

    recorder = Recorder(outlives_the_ack_wait)
    await bus.consumer(recorder, (topic,), tuning=replace(FAST_TUNING, ack_wait=timedelta(seconds=ack_wait)))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()

    await publisher.publish(topic, b"long", message_id="long")
    await wait_handled(recorder, b"long")

    info = await all_acknowledged(inspector, topic)
    assert info.num_redelivered == 0
    await marker_handled(publisher, recorder, topic)
    assert recorder.times(b"long") == 1


async def test_without_auto_provision_a_missing_stream_is_logged_and_consumed_once_created(
    bus: Bus, inspector: JetStreamContext, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestration.bus")
    recorder = Recorder()
    await bus.consumer(recorder, (topic,), nats_auto_provision=False)

    def missing_stream_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if f"no JetStream stream captures subject '{topic}'" in r.getMessage()]

    await assert_eventually(lambda: len(missing_stream_lines()) >= 3, what="the consumer to look several times")
    assert [r.levelno for r in missing_stream_lines()][:3] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert await inspector.streams_info() == []

    await inspector.add_stream(StreamConfig(name="made-by-hand", subjects=[topic]))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher(nats_auto_provision=False)
    await publisher.publish(topic, b"at-last", message_id="m1")

    await wait_handled(recorder, b"at-last")


async def test_a_push_consumer_in_the_way_is_reported(
    bus: Bus, inspector: JetStreamContext, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    await inspector.add_stream(StreamConfig(name=topic, subjects=[topic]))
    name = durable_name("orchestration", topic)
    await inspector.add_consumer(topic, ConsumerConfig(durable_name=name, deliver_subject="somewhere"))

    await bus.consumer(Recorder(), (topic,))

    await assert_eventually(lambda: "is a push consumer" in caplog.text, what="the conflict to be logged")


async def test_a_consumer_started_while_nats_is_down_consumes_once_it_is_up(
    bus: Bus, nats_server: NatsServer, inspector: JetStreamContext, topic: str
) -> None:
    nats_server.kill()
    recorder = Recorder()
    await bus.consumer(recorder, (topic,))
    nats_server.restart()
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()

    await publisher.publish(topic, b"late", message_id="late")

    await wait_handled(recorder, b"late")


async def test_close_lets_the_running_handler_finish_and_acknowledges_its_message(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    finished: list[bytes] = []

    async def slow(data: bytes, delivery: int) -> None:
        entered.set()
        await release.wait()
        finished.append(data)

    consumer = await bus.consumer(Recorder(slow), (topic,))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()
    await publisher.publish(topic, b"in-hand", message_id="m1")
    await asyncio.wait_for(entered.wait(), 30)

    closing = asyncio.create_task(consumer.close())
    await publisher.publish(topic, b"after-close", message_id="m2")
    release.set()
    await asyncio.wait_for(closing, 30)

    assert finished == [b"in-hand"]
    successor = Recorder()
    await bus.consumer(successor, (topic,))
    await wait_handled(successor, b"after-close")
    await marker_handled(publisher, successor, topic)
    assert successor.times(b"in-hand") == 0  # acknowledged before close() returned


async def test_close_cancels_a_handler_that_outlives_it_and_its_message_comes_again(
    bus: Bus, inspector: JetStreamContext, topic: str
) -> None:
    entered = asyncio.Event()

    async def stuck(data: bytes, delivery: int) -> None:
        entered.set()
        await forever()

    stuck_recorder = Recorder(stuck)
    consumer = await bus.consumer(stuck_recorder, (topic,),
                                  tuning=replace(FAST_TUNING, close_timeout=timedelta(milliseconds=200)))
    await durable_ready(inspector, topic)
    publisher = await bus.publisher()
    await publisher.publish(topic, b"unfinished", message_id="m1")
    await asyncio.wait_for(entered.wait(), 30)

    await asyncio.wait_for(consumer.close(), 30)

    successor = Recorder()
    await bus.consumer(successor, (topic,))
    await wait_handled(successor, b"unfinished")
    await all_acknowledged(inspector, topic)
    assert stuck_recorder.times(b"unfinished") == 1
