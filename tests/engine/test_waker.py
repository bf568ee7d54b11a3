"""The waker starts the continuation of parked instances whose wait is over, and only those."""

from __future__ import annotations

import contextvars
import uuid
from datetime import UTC, datetime, timedelta

from orchestration import storage
from orchestration.engine._waker import Waker
from tests.testing.waiting import assert_eventually

NOW = datetime.now(UTC)
HORIZON = timedelta(minutes=2)


class Starts:
    """The waker's `resume`: records what it was asked to start; fails for `failing`."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.started: list[storage.DueWaitRow] = []
        self.at: dict[str, datetime] = {}  # when each instance was last started
        self.failing = failing or set()

    async def __call__(self, wait: storage.DueWaitRow) -> None:
        if wait.instance_id in self.failing:
            raise RuntimeError("the engine refused")
        self.started.append(wait)
        self.at[wait.instance_id] = datetime.now(UTC)

    @property
    def ids(self) -> set[str]:
        return {wait.instance_id for wait in self.started}


async def _parked(db: storage.Database, *, event: str | None = None, wake_at: datetime | None = None) -> str:
    """An instance of a two-stage workflow parked in its stage 1."""
    workflow_id, instance_id = str(uuid.uuid4()), str(uuid.uuid4())
    config = {"stages": [{"noop": {}}, {"wait_event": {"event": event}} if event else {"delay": {"duration": "1h"}}]}
    async with db.begin() as conn:
        await storage.insert_workflow(
            conn, storage.WorkflowRow(id=workflow_id, config=config, created_at=NOW, updated_at=NOW, deleted_at=None)
        )
        await storage.insert_instance(
            conn,
            storage.InstanceRow(
                id=instance_id,
                workflow_id=workflow_id,
                created_at=NOW,
                updated_at=NOW,
                terminated=False,
                terminated_at=None,
                error=None,
                variables={"who": "me"},
            ),
        )
        await storage.start_stages(conn, [storage.new_stage(instance_id, 1, now=NOW, name="RunWaitEvent", input={})])
        await storage.park(
            conn, storage.WaitRow(instance_id=instance_id, stage=1, event=event, wake_at=wake_at, parked_at=NOW)
        )
    return instance_id


async def _send(db: storage.Database, instance_id: str, name: str) -> None:
    async with db.begin() as conn:
        await storage.insert_event(conn, instance_id, name, NOW)


async def _wait(db: storage.Database, instance_id: str) -> storage.WaitRow | None:
    async with db.read() as conn:
        return await storage.get_wait(conn, instance_id, 1)


async def test_only_passed_deadlines_and_awaited_events_are_due(db: storage.Database) -> None:
    past = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    future = await _parked(db, wake_at=NOW + timedelta(hours=1))
    sent = await _parked(db, event="go")
    other_name = await _parked(db, event="go")
    await _send(db, sent, "go")
    await _send(db, other_name, "stop")
    starts = Starts()
    assert await Waker(db, starts, timer_horizon=HORIZON).wake_due() == 2
    assert starts.ids == {past, sent}
    [wait] = [w for w in starts.started if w.instance_id == sent]
    # What the continuation needs comes with it.
    assert (wait.stage, wait.event, wait.started_at, wait.variables) == (1, "go", NOW, {"who": "me"})
    assert wait.config["stages"][1] == {"wait_event": {"event": "go"}}
    assert future not in starts.ids and other_name not in starts.ids


async def test_a_started_delay_is_marked_and_not_started_again(db: storage.Database) -> None:
    due = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    starts = Starts()
    waker = Waker(db, starts, timer_horizon=HORIZON)
    assert await waker.wake_due() == 1
    wait = await _wait(db, due)
    assert wait is not None and wait.woken_at is not None
    assert await waker.wake_due() == 0


async def test_an_event_wait_stays_due_until_its_continuation_takes_the_event(db: storage.Database) -> None:
    sent = await _parked(db, event="go")
    await _send(db, sent, "go")
    starts = Starts()
    waker = Waker(db, starts, timer_horizon=HORIZON)
    await waker.wake_due()
    await waker.wake_due()  # started twice: the engine runs one (its workflow id is the same)
    assert [w.instance_id for w in starts.started] == [sent, sent]
    async with db.begin() as conn:
        assert await storage.consume_event(conn, sent, 1, "go")
        await storage.mark_woken(conn, sent, 1, now=NOW)
    assert await waker.wake_due() == 0


async def test_a_failed_start_is_tried_again_and_does_not_stop_the_others(db: storage.Database) -> None:
    failing = await _parked(db, wake_at=NOW - timedelta(seconds=2))
    fine = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    starts = Starts(failing={failing})
    waker = Waker(db, starts, timer_horizon=HORIZON)
    assert await waker.wake_due() == 1 and starts.ids == {fine}
    failed = await _wait(db, failing)
    assert failed is not None and failed.woken_at is None
    starts.failing.clear()
    assert await waker.wake_due() == 1 and starts.ids == {fine, failing}


async def test_one_instance_can_be_looked_at_alone(db: storage.Database) -> None:
    first = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    second = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    starts = Starts()
    assert await Waker(db, starts, timer_horizon=HORIZON).wake_due(second) == 1
    assert starts.ids == {second} and first != second


async def test_an_ended_instance_has_nothing_left_to_wake(db: storage.Database) -> None:
    aborted = await _parked(db, event="go")
    await _send(db, aborted, "go")
    async with db.begin() as conn:
        assert await storage.cancel_instance(conn, aborted, now=NOW)
    assert await _wait(db, aborted) is None
    assert await Waker(db, Starts(), timer_horizon=HORIZON).wake_due() == 0


async def test_a_look_ahead_wakes_what_is_due_and_sets_timers_for_what_comes_soon(db: storage.Database) -> None:
    now = datetime.now(UTC)
    due = await _parked(db, wake_at=now - timedelta(seconds=1))
    later = await _parked(db, wake_at=now + timedelta(hours=1))
    soon_deadline = datetime.now(UTC) + timedelta(seconds=1)
    soon = await _parked(db, wake_at=soon_deadline)
    starts = Starts()
    waker = Waker(db, starts, timer_horizon=HORIZON)
    try:
        await waker.look_ahead()
        assert due in starts.ids and later not in starts.ids
        # No other call: the timer set by the look-ahead, at the deadline and not before
        # (or the look-ahead itself, had the deadline passed before it looked).
        await assert_eventually(lambda: starts.ids, lambda ids: soon in ids, what="the timer of the soon deadline")
        assert starts.at[soon] >= soon_deadline
        assert starts.ids == {due, soon}
    finally:
        await waker.close()


CALLER = contextvars.ContextVar[str]("CALLER")


async def test_continuations_start_outside_the_context_of_whoever_asked(db: storage.Database) -> None:
    # A step that parks calls `remind` or `check_soon` inside its workflow's context: the
    # continuation must not start as that workflow's child.
    soon = await _parked(db, wake_at=datetime.now(UTC) + timedelta(milliseconds=200))
    sent = await _parked(db, event="go")
    await _send(db, sent, "go")
    contexts: dict[str, str | None] = {}

    async def resume(wait: storage.DueWaitRow) -> None:
        contexts[wait.instance_id] = CALLER.get(None)

    waker = Waker(db, resume, timer_horizon=HORIZON)
    try:
        CALLER.set("the parking workflow")
        waker.remind(soon, datetime.now(UTC) + timedelta(milliseconds=200))
        waker.check_soon(sent)
        await assert_eventually(lambda: set(contexts), lambda started: started == {soon, sent}, what="both starts")
    finally:
        await waker.close()
    assert contexts == {soon: None, sent: None}
