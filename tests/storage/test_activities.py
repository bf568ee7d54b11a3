"""An activity's attempts (spec §10.2): the first attempt creates the activity, later ones
count on it, and an attempt begun again after a crash changes nothing that has ended."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestration import storage
from tests.storage.conftest import NOW

LATER = NOW + timedelta(seconds=2)
REQUEST = {"CreateTransaction": {"Ledger": "main"}}


async def _begin(db: storage.Database, instance_id: str, attempt: int, now: datetime) -> None:
    async with db.begin() as conn:
        await storage.begin_attempt(
            conn, instance_id, 0, 0, name="CreateTransaction", input=REQUEST, attempt=attempt, now=now
        )


async def _activity(db: storage.Database, instance_id: str) -> storage.ActivityRow:
    async with db.read() as conn:
        [activity] = await storage.list_activities(conn, instance_id, 0)
    return activity


async def test_the_first_attempt_creates_the_activity(db: storage.Database, instance_id: str) -> None:
    await _begin(db, instance_id, 1, NOW)
    activity = await _activity(db, instance_id)
    assert (activity.name, activity.input, activity.attempt) == ("CreateTransaction", REQUEST, 1)
    assert (activity.started_at, activity.next_execution, activity.terminated_at) == (NOW, NOW, None)
    assert (activity.output, activity.error, activity.last_failure) == (None, None, None)


async def test_a_retry_counts_on_the_activity_and_keeps_its_start(db: storage.Database, instance_id: str) -> None:
    await _begin(db, instance_id, 1, NOW)
    async with db.begin() as conn:
        await storage.schedule_retry(conn, instance_id, 0, 0, attempt=2, last_failure="down", next_execution=LATER)
    pending = await _activity(db, instance_id)
    assert (pending.attempt, pending.last_failure, pending.next_execution) == (2, "down", LATER)
    await _begin(db, instance_id, 2, LATER)
    running = await _activity(db, instance_id)
    assert (running.started_at, running.attempt, running.next_execution) == (NOW, 2, LATER)
    assert running.last_failure == "down"  # shown until the attempt ends


async def test_an_ended_activity_is_not_begun_again(db: storage.Database, instance_id: str) -> None:
    await _begin(db, instance_id, 1, NOW)
    async with db.begin() as conn:
        await storage.finish_activity(conn, instance_id, 0, 0, now=LATER, attempt=1, output={"id": 7})
    ended = await _activity(db, instance_id)
    # The step ran again after a crash that came after the call: the record stands.
    await _begin(db, instance_id, 1, LATER + timedelta(seconds=1))
    assert await _activity(db, instance_id) == ended
    assert (ended.terminated_at, ended.output, ended.next_execution) == (LATER, {"id": 7}, None)


async def test_a_finished_activity_forgets_its_last_failure(db: storage.Database, instance_id: str) -> None:
    await _begin(db, instance_id, 1, NOW)
    async with db.begin() as conn:
        await storage.schedule_retry(conn, instance_id, 0, 0, attempt=2, last_failure="down", next_execution=LATER)
        await storage.finish_activity(conn, instance_id, 0, 0, now=LATER, attempt=2, error="still down")
    done = await _activity(db, instance_id)
    assert (done.attempt, done.error, done.last_failure, done.next_execution) == (2, "still down", None, None)


async def test_an_abort_cancels_only_the_activities_still_running(db: storage.Database, instance_id: str) -> None:
    async with db.begin() as conn:
        for sequence in (0, 1):
            await storage.begin_attempt(conn, instance_id, 0, sequence, name="CreateTransaction", input={},
                                        attempt=1, now=NOW)
        await storage.finish_activity(conn, instance_id, 0, 0, now=NOW, attempt=1, output=None)
        await storage.cancel_activities(conn, instance_id, LATER)
        done, running = await storage.list_activities(conn, instance_id, 0)
    assert (done.terminated_at, done.error) == (NOW, None)
    assert (running.terminated_at, running.error) == (LATER, storage.CANCELLED)


async def test_an_attempt_the_row_is_past_writes_nothing(db: storage.Database, instance_id: str) -> None:
    # Another execution of the run failed attempt 1 and scheduled attempt 2 while this one's call ran.
    await _begin(db, instance_id, 1, NOW)
    async with db.begin() as conn:
        assert await storage.schedule_retry(
            conn, instance_id, 0, 0, attempt=2, last_failure="down", next_execution=LATER, error_code="INTERNAL"
        )
        assert not await storage.finish_activity(conn, instance_id, 0, 0, now=LATER, attempt=1, output={"id": 1})
        assert not await storage.schedule_retry(
            conn, instance_id, 0, 0, attempt=2, last_failure="again", next_execution=LATER, error_code="INTERNAL"
        )
    pending = await _activity(db, instance_id)
    assert (pending.attempt, pending.terminated_at, pending.last_failure) == (2, None, "down")
    async with db.begin() as conn:
        assert await storage.finish_activity(conn, instance_id, 0, 0, now=LATER, attempt=2, output={"id": 1})
        assert not await storage.finish_activity(conn, instance_id, 0, 0, now=LATER, attempt=2, error="late")
    ended = await _activity(db, instance_id)
    assert (ended.output, ended.error, ended.error_code) == ({"id": 1}, None, None)


async def test_an_abort_after_a_failed_attempt_forgets_its_error_code(db: storage.Database, instance_id: str) -> None:
    await _begin(db, instance_id, 1, NOW)
    async with db.begin() as conn:
        await storage.schedule_retry(
            conn, instance_id, 0, 0, attempt=2, last_failure="down", next_execution=LATER, error_code="INTERNAL"
        )
        await storage.cancel_activities(conn, instance_id, LATER)
    cancelled = await _activity(db, instance_id)
    assert (cancelled.error, cancelled.error_code) == (storage.CANCELLED, None)
