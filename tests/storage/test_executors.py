"""Heartbeats and takeover (DESIGN §3): the instances of a worker that fell silent are claimed
by one survivor, once; live workers, and the claimer itself, are never claimed."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestration import storage
from tests.storage.conftest import NOW, held_open, runs_into

SILENCE = timedelta(seconds=10)


async def _beat(db: storage.Database, executor_id: str, at: datetime) -> None:
    async with db.begin() as conn:
        await storage.beat(conn, executor_id, at)


async def _claim(db: storage.Database, me: str, now: datetime = NOW) -> list[str]:
    async with db.begin() as conn:
        return await storage.claim_dead(conn, me=me, now=now, silent_for=SILENCE)


async def test_only_workers_silent_for_longer_than_the_threshold_are_claimed(db: storage.Database) -> None:
    await _beat(db, "dead", NOW - SILENCE - timedelta(seconds=1))
    await _beat(db, "just-alive", NOW - SILENCE + timedelta(seconds=1))
    await _beat(db, "alive", NOW)
    assert await _claim(db, me="alive") == ["dead"]


async def test_a_dead_worker_taken_over_is_claimed_once(db: storage.Database) -> None:
    await _beat(db, "dead", NOW - SILENCE * 2)
    assert await _claim(db, me="a") == ["dead"]
    assert await _claim(db, me="b") == []
    async with db.begin() as conn:
        await storage.forget_executor(conn, "dead", claimed_at=NOW)
    assert await _claim(db, me="a", now=NOW + SILENCE * 5) == []


async def test_a_claim_not_followed_by_its_takeover_is_claimed_again_once_silent_as_long(
    db: storage.Database,
) -> None:
    # The claimer died, or its takeover failed: the dead one's instances must not stay stranded.
    await _beat(db, "dead", NOW - SILENCE * 2)
    assert await _claim(db, me="a") == ["dead"]
    assert await _claim(db, me="b", now=NOW + SILENCE - timedelta(seconds=1)) == []
    assert await _claim(db, me="b", now=NOW + SILENCE + timedelta(seconds=1)) == ["dead"]


async def test_forgetting_a_claimed_worker_that_beats_again_keeps_it(db: storage.Database) -> None:
    await _beat(db, "paused", NOW - SILENCE * 2)
    assert await _claim(db, me="survivor") == ["paused"]
    await _beat(db, "paused", NOW + timedelta(seconds=1))  # back before its takeover was done
    async with db.begin() as conn:
        await storage.forget_executor(conn, "paused", claimed_at=NOW)
    assert await _claim(db, me="survivor", now=NOW + SILENCE * 3) == ["paused"]  # its row, silent again


async def test_a_worker_never_claims_itself(db: storage.Database) -> None:
    await _beat(db, "me", NOW - SILENCE * 2)  # a long pause, but it is still running
    assert await _claim(db, me="me") == []


async def test_a_worker_that_stopped_cleanly_is_claimed_at_once(db: storage.Database) -> None:
    await _beat(db, "gone", NOW)
    async with db.begin() as conn:
        await storage.release(conn, "gone")
    assert await _claim(db, me="survivor") == ["gone"]


async def test_a_claimed_worker_that_beats_again_is_alive_again(db: storage.Database) -> None:
    await _beat(db, "paused", NOW - SILENCE * 2)
    assert await _claim(db, me="survivor") == ["paused"]
    await _beat(db, "paused", NOW)
    assert await _claim(db, me="survivor") == []


async def test_two_survivors_claiming_at_once_claim_each_dead_worker_once(db: storage.Database) -> None:
    for dead in ("d1", "d2"):
        await _beat(db, dead, NOW - SILENCE * 2)

    async with held_open(
        db, lambda conn: storage.claim_dead(conn, me="a", now=NOW, silent_for=SILENCE)
    ) as first:
        competing = await runs_into(db, _claim(db, me="b"))
        claimed_by_a = await first()
    claimed_by_b = await competing
    assert sorted(claimed_by_a + claimed_by_b) == ["d1", "d2"]
