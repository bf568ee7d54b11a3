"""A survivor's takeover of a silent worker is finished even when its first try fails: tried again
at the next heartbeat, and the dead worker forgotten only once its instances are resumed. One that
keeps failing does not hold back the takeover of others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.engine import _takeover
from orchestration.storage._tables import engine_executors
from tests.testing.waiting import assert_eventually

SILENCE = timedelta(seconds=10)


async def test_a_takeover_that_fails_is_tried_again_at_the_next_beat(
    db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.begin() as conn:
        await storage.beat(conn, "dead", datetime.now(UTC) - timedelta(hours=1))
    tries: list[str] = []

    async def take_over(executor_id: str, queue: str) -> int:
        tries.append(executor_id)
        if len(tries) == 1:
            raise OSError("the engine's database did not answer")
        return 0

    monkeypatch.setattr(_takeover, "_take_over", take_over)
    lost_started = asyncio.Event()

    async def start_lost(created_before: datetime) -> None:
        lost_started.set()

    keep_alive = asyncio.create_task(_takeover.keep_alive(
        db, me="survivor", queue="instances", every=timedelta(milliseconds=20), takeover_after=SILENCE,
        start_lost=start_lost,
    ))
    try:
        await asyncio.wait_for(lost_started.wait(), timeout=30)
    finally:
        keep_alive.cancel()
        await asyncio.gather(keep_alive, return_exceptions=True)
    assert tries == ["dead", "dead"]
    async with db.begin() as conn:  # taken over, then forgotten: nobody claims it again
        later = datetime.now(UTC) + SILENCE * 10
        assert "dead" not in await storage.claim_dead(conn, me="other", now=later, silent_for=SILENCE)


async def test_a_takeover_that_keeps_failing_does_not_hold_back_the_others(
    db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.begin() as conn:
        for executor_id in ("dead-a", "dead-b"):  # "dead-a" first, in the order they are taken over
            await storage.beat(conn, executor_id, datetime.now(UTC) - timedelta(hours=1))
    tries: list[str] = []
    taken = asyncio.Event()

    async def take_over(executor_id: str, queue: str) -> int:
        tries.append(executor_id)
        if executor_id == "dead-a":
            raise OSError("its workflows cannot be listed")
        taken.set()
        return 0

    monkeypatch.setattr(_takeover, "_take_over", take_over)

    async def start_lost(created_before: datetime) -> None:
        pass

    keep_alive = asyncio.create_task(_takeover.keep_alive(
        db, me="survivor", queue="instances", every=timedelta(milliseconds=20), takeover_after=SILENCE,
        start_lost=start_lost,
    ))
    try:
        await asyncio.wait_for(taken.wait(), timeout=30)
        await assert_eventually(lambda: tries.count("dead-a"), lambda n: n >= 2, what="dead-a tried again")
    finally:
        keep_alive.cancel()
        await asyncio.gather(keep_alive, return_exceptions=True)
    assert tries.count("dead-b") == 1  # taken over once, then forgotten
    async with db.begin() as conn:  # "dead-a" is still to take over: claimable once its claim is silent too
        later = datetime.now(UTC) + SILENCE * 10
        claimed = await storage.claim_dead(conn, me="other", now=later, silent_for=SILENCE)
    assert "dead-a" in claimed and "dead-b" not in claimed


async def test_starting_what_a_silent_worker_left_unstarted_does_not_hold_back_the_heartbeat(
    db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.begin() as conn:
        await storage.beat(conn, "dead", datetime.now(UTC) - timedelta(hours=1))

    async def take_over(executor_id: str, queue: str) -> int:
        return 0

    monkeypatch.setattr(_takeover, "_take_over", take_over)
    starting, done = asyncio.Event(), asyncio.Event()

    async def start_lost(created_before: datetime) -> None:  # thousands of instances: it takes a while
        starting.set()
        await done.wait()

    keep_alive = asyncio.create_task(_takeover.keep_alive(
        db, me="survivor", queue="instances", every=timedelta(milliseconds=20), takeover_after=SILENCE,
        start_lost=start_lost,
    ))
    try:
        await asyncio.wait_for(starting.wait(), timeout=30)
        first = await _heartbeat(db, "survivor")
        await assert_eventually(
            lambda: _heartbeat(db, "survivor"), lambda at: at > first, what="a beat while they are started"
        )
    finally:
        done.set()
        keep_alive.cancel()
        await asyncio.gather(keep_alive, return_exceptions=True)


async def _heartbeat(db: storage.Database, executor_id: str) -> datetime:
    async with db.read() as conn:
        query = sa.select(engine_executors.c.heartbeat_at).where(engine_executors.c.id == executor_id)
        return (await conn.execute(query)).scalar_one()
