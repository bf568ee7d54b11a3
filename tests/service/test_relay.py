"""The outbox and its relay (spec §13): every recorded event published once the bus takes it,
in order, at least once, on both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from orchestration import events, storage
from orchestration.bus import EventPublisher, MemoryPublisher, PublishFailed
from orchestration.service import EventRelay
from orchestration.service.relay import BATCH


async def record(db: storage.Database, recorded: list[events.Event]) -> None:
    async with db.begin() as conn:
        await storage.record_events(conn, recorded, now=datetime.now(UTC))


def instance_events(instance: str, stages: int) -> list[events.Event]:
    made = [events.workflow_started("wf", instance)]
    for n in range(stages):
        made += [events.stage_started("wf", instance, n), events.stage_ended("wf", instance, n, None)]
    return [*made, events.workflow_ended("wf", instance, None)]


class FlakyPublisher(MemoryPublisher):
    """Takes `accept` messages, then refuses every other until told to accept more."""

    def __init__(self, accept: int) -> None:
        super().__init__(("*:stack1-orchestration",))
        self.accept = accept

    async def publish(self, topic: str, data: bytes, *, message_id: str) -> None:
        if self.accept <= 0:
            raise PublishFailed("the bus is down")
        self.accept -= 1
        await super().publish(topic, data, message_id=message_id)


async def test_events_go_out_in_order_with_their_keys_and_once(db: storage.Database) -> None:
    recorded = instance_events("i1", 2)
    await record(db, recorded)
    await record(db, recorded[:2])  # a step that ran twice records nothing more
    publisher = MemoryPublisher(("*:stack1-orchestration",))
    relay = EventRelay(db, publisher)
    assert await relay.publish_pending() == len(recorded)
    assert await relay.publish_pending() == 0
    assert [m.message_id for m in publisher.published] == [e.key for e in recorded]
    assert {m.subject for m in publisher.published} == {"stack1-orchestration"}
    bodies = [json.loads(m.data) for m in publisher.published]
    assert [(b["type"], b["payload"], b["idempotency_key"]) for b in bodies] == [
        (e.type, e.payload, e.key) for e in recorded
    ]
    assert all(b["app"] == "orchestration" and b["version"] == "v2" and b["date"].endswith("Z") for b in bodies)


async def test_what_the_bus_refused_goes_out_later_and_nothing_twice(db: storage.Database) -> None:
    recorded = instance_events("i2", 3)
    await record(db, recorded)
    publisher = FlakyPublisher(accept=3)
    relay = EventRelay(db, publisher)
    with pytest.raises(PublishFailed):
        await relay.publish_pending()
    assert len(publisher.published) == 3
    publisher.accept = 100
    assert await relay.publish_pending() == len(recorded) - 3
    assert [m.message_id for m in publisher.published] == [e.key for e in recorded]


class SlowBus(EventPublisher):
    """Keeps every message it is given, copies included, taking a moment for each (as a network does)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def publish(self, topic: str, data: bytes, *, message_id: str) -> None:
        await asyncio.sleep(0.001)
        self.keys.append(message_id)

    async def close(self) -> None:
        pass


async def test_relays_of_several_workers_keep_each_instance_in_order(
    db: storage.Database, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite: one process owns the data directory, and with it the one relay")
    recorded = [e for n in range(BATCH // 4) for e in instance_events(f"i{n}", 1)]  # more than a batch
    await record(db, recorded)
    bus = SlowBus()
    relays = [EventRelay(db, bus) for _ in range(3)]
    while len(set(bus.keys)) < len(recorded):
        await asyncio.gather(*(relay.publish_pending() for relay in relays))
    assert bus.keys == [e.key for e in recorded]  # one relay at a time: no copy, no overtaking
