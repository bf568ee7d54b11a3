"""Consuming an event (DESIGN §4: events are durable): the oldest of its name, by one stage,
once; again for the same stage after a crash, never for a second stage."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orchestration import storage
from tests.storage.conftest import NOW, held_open, running_instance, runs_into


async def _send(db: storage.Database, instance_id: str, *names: str) -> None:
    async with db.begin() as conn:
        for name in names:
            await storage.insert_event(conn, instance_id, name, NOW)


async def _consumers(db: storage.Database, instance_id: str) -> list[tuple[str, int | None]]:
    query = sa.text("SELECT name, consumed_by_stage FROM instance_events WHERE instance_id = :id ORDER BY id")
    async with db.read() as conn:
        return [(row.name, row.consumed_by_stage) for row in await conn.execute(query, {"id": instance_id})]


async def _consume(db: storage.Database, instance_id: str, stage: int, name: str) -> bool:
    async with db.begin() as conn:
        return await storage.consume_event(conn, instance_id, stage, name)


async def test_a_stage_takes_the_oldest_unconsumed_event_of_its_name(db: storage.Database, instance_id: str) -> None:
    await _send(db, instance_id, "b", "a", "a")
    assert await _consume(db, instance_id, 3, "a")
    assert await _consumers(db, instance_id) == [("b", None), ("a", 3), ("a", None)]


async def test_no_event_of_the_name_means_nothing_is_taken(db: storage.Database, instance_id: str) -> None:
    await _send(db, instance_id, "A", "b")
    assert not await _consume(db, instance_id, 0, "a")
    assert await _consumers(db, instance_id) == [("A", None), ("b", None)]


async def test_consuming_again_for_the_same_stage_takes_no_second_event(db: storage.Database, instance_id: str) -> None:
    # A step that consumed, then crashed before its result was recorded, runs again.
    await _send(db, instance_id, "go", "go")
    assert await _consume(db, instance_id, 1, "go")
    assert await _consume(db, instance_id, 1, "go")
    assert await _consumers(db, instance_id) == [("go", 1), ("go", None)]


async def test_an_event_taken_by_one_stage_is_not_there_for_the_next(db: storage.Database, instance_id: str) -> None:
    await _send(db, instance_id, "go")
    assert await _consume(db, instance_id, 0, "go")
    assert not await _consume(db, instance_id, 1, "go")
    async with db.read() as conn:
        assert await storage.event_ready(conn, instance_id, 0, "go")  # what stage 0 would get again
        assert not await storage.event_ready(conn, instance_id, 1, "go")


async def test_event_ready_says_what_consume_would_do(db: storage.Database, instance_id: str) -> None:
    async with db.read() as conn:
        assert not await storage.event_ready(conn, instance_id, 0, "go")
    await _send(db, instance_id, "go")
    async with db.read() as conn:
        assert await storage.event_ready(conn, instance_id, 0, "go")
        assert not await storage.event_ready(conn, instance_id, 0, "stop")


async def test_two_consumers_at_once_take_an_event_once(db: storage.Database, instance_id: str) -> None:
    # As the engine's steps do: lock the instance, then consume.
    async def consume(conn: storage.Connection, stage: int) -> bool:
        assert await storage.lock_instance(conn, instance_id) is not None
        return await storage.consume_event(conn, instance_id, stage, "go")

    async def second() -> bool:
        async with db.begin() as conn:
            return await consume(conn, 2)

    await _send(db, instance_id, "go")
    async with held_open(db, lambda conn: consume(conn, 1)) as first:
        competing = await runs_into(db, second())
        assert await first() is True
    assert await competing is False
    assert await _consumers(db, instance_id) == [("go", 1)]


async def test_two_consumers_at_once_without_the_instance_lock_take_an_event_once(
    db: storage.Database, instance_id: str
) -> None:
    async def second() -> bool:
        async with db.begin() as conn:
            return await storage.consume_event(conn, instance_id, 2, "go")

    await _send(db, instance_id, "go")
    async with held_open(db, lambda conn: storage.consume_event(conn, instance_id, 1, "go")) as first:
        competing = await runs_into(db, second())
        assert await first() is True
    assert await competing is False
    assert await _consumers(db, instance_id) == [("go", 1)]


async def test_pending_events_are_those_of_running_instances_not_yet_consumed(
    db: storage.Database, instance_id: str
) -> None:
    async with db.read() as conn:
        assert await storage.instances_with_pending_events(conn) == []
    await _send(db, instance_id, "go", "go")
    async with db.read() as conn:
        assert await storage.instances_with_pending_events(conn) == [instance_id]
    assert await _consume(db, instance_id, 0, "go")
    async with db.read() as conn:
        assert await storage.instances_with_pending_events(conn) == [instance_id]  # the second one
    async with db.begin() as conn:
        assert await storage.cancel_instance(conn, instance_id, now=NOW)
        assert await storage.instances_with_pending_events(conn) == []


async def test_an_event_says_whether_it_made_a_parked_wait_due(db: storage.Database, instance_id: str) -> None:
    # Only then has the waker something to do.
    async with db.begin() as conn:
        parked = storage.WaitRow(instance_id=instance_id, stage=0, event="go", wake_at=None, parked_at=NOW)
        await storage.park(conn, parked, tell_within=timedelta(0))
    async with db.begin() as conn:
        assert await storage.insert_event(conn, instance_id, "stop", NOW) is False  # nothing waits for it
        assert await storage.insert_event(conn, instance_id, "go", NOW) is True
        assert await storage.insert_event(conn, instance_id, "go", NOW) is False  # due already
        wait = await storage.get_wait(conn, instance_id, 0)
    assert wait is not None and wait.due_at is not None


async def test_events_for_several_stages_at_once_are_taken_as_one_by_one(
    db: storage.Database, instance_id: str
) -> None:
    others = [await running_instance(db) for _ in range(3)]
    took_before, oldest, nothing = others
    await _send(db, instance_id, "b", "a", "a")
    await _send(db, took_before, "go", "go")
    assert await _consume(db, took_before, 1, "go")  # before a crash
    await _send(db, oldest, "go")
    await _send(db, nothing, "A")
    wanted = [(instance_id, 3, "a"), (took_before, 1, "go"), (oldest, 0, "go"), (nothing, 0, "a")]
    async with db.begin() as conn:
        assert await storage.consume_events(conn, wanted) == {instance_id, took_before, oldest}
        assert await storage.consume_events(conn, []) == set()
    assert await _consumers(db, instance_id) == [("b", None), ("a", 3), ("a", None)]
    assert await _consumers(db, took_before) == [("go", 1), ("go", None)]  # no second event
    assert await _consumers(db, oldest) == [("go", 0)]
    assert await _consumers(db, nothing) == [("A", None)]


async def test_lock_terminated_says_whether_the_instance_ended_and_holds_its_row(
    db: storage.Database, instance_id: str
) -> None:
    # What an event's transaction reads before it keeps the event: an abort waits for it.
    async def abort() -> bool:
        async with db.begin() as conn:
            return await storage.cancel_instance(conn, instance_id, now=NOW)

    async with db.begin() as conn:
        assert await storage.lock_terminated(conn, "no-such-instance") is None
    async with held_open(db, lambda conn: storage.lock_terminated(conn, instance_id)) as first:
        competing = await runs_into(db, abort())
        assert not competing.done()
        assert await first() is False
    assert await competing is True
    async with db.begin() as conn:
        assert await storage.lock_terminated(conn, instance_id) is True


async def test_an_event_sent_while_its_wait_is_parked_makes_the_wait_due(
    db: storage.Database, instance_id: str
) -> None:
    # The event's transaction waits for the park's lock on the instance; its next statement sees
    # the wait parked meanwhile (on PostgreSQL, one statement would see its own start's snapshot).
    wait = storage.WaitRow(instance_id=instance_id, stage=0, event="go", wake_at=None, parked_at=NOW)

    async def park(conn: storage.Connection) -> None:
        assert await storage.lock_instance(conn, instance_id) is not None
        await storage.park(conn, wait, tell_within=timedelta(minutes=1))

    async def send() -> bool:
        async with db.begin() as conn:
            assert await storage.lock_terminated(conn, instance_id) is False
            return await storage.insert_event(conn, instance_id, "go", NOW + timedelta(seconds=1))

    async with held_open(db, park) as first:
        competing = await runs_into(db, send())
        await first()
    assert await competing is True
    async with db.read() as conn:
        parked = await storage.get_wait(conn, instance_id, 0)
    assert parked is not None and parked.due_at == NOW + timedelta(seconds=1)
