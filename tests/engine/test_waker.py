"""The waker starts the continuation of parked instances whose wait is over, and only those."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestration import storage
from orchestration.engine import _waker as _waker_module
from orchestration.engine._waker import Waker
from tests.testing.waiting import assert_eventually

NOW = datetime.now(UTC)
HORIZON = timedelta(minutes=2)


class Starts:
    """The waker's `resume`: records what it was asked to start; fails for `failing`; the
    continuations it starts run until `finish` is set, when `hold` is set."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.started: list[storage.DueWaitRow] = []
        self.at: dict[str, datetime] = {}  # when each instance was last started
        self.failing = failing or set()
        self.hold = False
        self.running: list[asyncio.Future[None]] = []

    async def __call__(self, wait: storage.DueWaitRow) -> asyncio.Future[None] | None:
        if wait.instance_id in self.failing:
            raise RuntimeError("the engine refused")
        self.started.append(wait)
        self.at[wait.instance_id] = datetime.now(UTC)
        if not self.hold:
            return None
        ended = asyncio.get_running_loop().create_future()
        self.running.append(ended)
        return ended

    @property
    def ids(self) -> set[str]:
        return {wait.instance_id for wait in self.started}


def _waker(db: storage.Database, starts: Starts, **kwargs: Any) -> Waker:
    return Waker(db, starts, **{"timer_horizon": HORIZON, "poll_interval": timedelta(hours=1), **kwargs})


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
            conn,
            storage.WaitRow(instance_id=instance_id, stage=1, event=event, wake_at=wake_at, parked_at=NOW),
            tell_within=timedelta(0),
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
    assert await _waker(db, starts).wake_due() == 2
    assert starts.ids == {past, sent}
    [wait] = [w for w in starts.started if w.instance_id == sent]
    # What the continuation needs comes with it.
    assert (wait.stage, wait.event, wait.started_at, wait.variables) == (1, "go", NOW, {"who": "me"})
    assert wait.config["stages"][1] == {"wait_event": {"event": "go"}}
    assert future not in starts.ids and other_name not in starts.ids


async def test_a_started_delay_is_marked_and_not_started_again(db: storage.Database) -> None:
    due = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    starts = Starts()
    waker = _waker(db, starts)
    assert await waker.wake_due() == 1
    wait = await _wait(db, due)
    assert wait is not None and wait.woken_at is not None
    assert await waker.wake_due() == 0


async def test_a_started_event_wait_is_marked_and_not_started_again(db: storage.Database) -> None:
    sent = await _parked(db, event="go")
    await _send(db, sent, "go")
    starts = Starts()
    waker = _waker(db, starts)
    assert await waker.wake_due() == 1
    assert await waker.wake_due() == 0
    assert [w.instance_id for w in starts.started] == [sent]
    wait = await _wait(db, sent)
    assert wait is not None and wait.woken_at is not None and wait.due_at is not None


async def test_an_event_makes_its_wait_due_in_its_own_transaction(db: storage.Database) -> None:
    waiting = await _parked(db, event="go")
    other = await _parked(db, event="go")
    await _send(db, other, "stop")
    assert (await _wait(db, waiting)).due_at is None  # type: ignore[union-attr]
    await _send(db, waiting, "go")
    first = await _wait(db, waiting)
    assert first is not None and first.due_at is not None
    await _send(db, waiting, "go")  # a second event: the wait stays due since the first
    assert (await _wait(db, waiting)) == first
    assert (await _wait(db, other)).due_at is None  # type: ignore[union-attr]


async def test_a_delay_is_due_at_its_deadline(db: storage.Database) -> None:
    deadline = NOW + timedelta(hours=1)
    parked = await _parked(db, wake_at=deadline)
    wait = await _wait(db, parked)
    assert wait is not None and wait.due_at == deadline
    async with db.read() as conn:
        assert await storage.next_deadline(conn, after=NOW) == deadline
        assert await storage.next_deadline(conn, after=deadline) is None


async def test_the_oldest_due_are_woken_first(db: storage.Database) -> None:
    ids = [await _parked(db, wake_at=NOW - timedelta(minutes=minutes)) for minutes in (1, 3, 2)]
    starts = Starts()
    assert await _waker(db, starts).wake_due() == 3
    assert [w.instance_id for w in starts.started] == [ids[1], ids[2], ids[0]]


async def test_a_backlog_is_started_with_a_bounded_number_running(db: storage.Database) -> None:
    ids = {await _parked(db, wake_at=NOW - timedelta(seconds=1)) for _ in range(5)}
    starts = Starts()
    starts.hold = True
    waker = _waker(db, starts, running=2, hold=timedelta(hours=1))
    waking = asyncio.create_task(waker.wake_due())
    try:
        await assert_eventually(lambda: len(starts.started), lambda n: n == 2, what="two continuations started")
        # Both places taken: the third waits for one of them to end.
        assert len(starts.started) == 2
        starts.running[0].set_result(None)
        await assert_eventually(lambda: len(starts.started), lambda n: n >= 3, what="a third once one ended")
        for running in starts.running:
            if not running.done():
                running.set_result(None)
        starts.hold = False
        assert await waking == 5
    finally:
        waking.cancel()
    assert starts.ids == ids


async def test_a_continuation_that_runs_long_gives_up_its_place_after_the_hold(db: storage.Database) -> None:
    ids = {await _parked(db, wake_at=NOW - timedelta(seconds=1)) for _ in range(3)}
    starts = Starts()
    starts.hold = True  # none of them ends
    waker = _waker(db, starts, running=1, hold=timedelta(milliseconds=50))
    assert await asyncio.wait_for(waker.wake_due(), timeout=30) == 3
    assert starts.ids == ids


async def test_waits_that_cannot_start_do_not_hold_back_those_behind_them(
    db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waker_module, "_BATCH", 2)
    failing = {await _parked(db, wake_at=NOW - timedelta(minutes=10 - i)) for i in range(3)}  # the oldest
    fine = {await _parked(db, wake_at=NOW - timedelta(seconds=1)) for _ in range(3)}
    starts = Starts(failing=failing)
    assert await _waker(db, starts).wake_due() == 3
    assert starts.ids == fine


async def test_a_deadline_that_comes_while_a_round_runs_is_not_left_for_the_poll(db: storage.Database) -> None:
    now = datetime.now(UTC)
    first = await _parked(db, wake_at=now + timedelta(milliseconds=500))
    second = await _parked(db, wake_at=now + timedelta(milliseconds=600))
    started: list[str] = []

    async def slow_start(wait: storage.DueWaitRow) -> None:
        started.append(wait.instance_id)
        await asyncio.sleep(0.3)  # the second deadline passes while the first round runs

    waker = Waker(db, slow_start, timer_horizon=HORIZON, poll_interval=timedelta(hours=1))
    try:
        waker.start()
        await assert_eventually(lambda: list(started), lambda ids: ids == [first, second], what="both starts")
    finally:
        await waker.close()


async def test_a_failed_start_is_tried_again_and_does_not_stop_the_others(db: storage.Database) -> None:
    failing = await _parked(db, wake_at=NOW - timedelta(seconds=2))
    fine = await _parked(db, wake_at=NOW - timedelta(seconds=1))
    starts = Starts(failing={failing})
    waker = _waker(db, starts)
    assert await waker.wake_due() == 1 and starts.ids == {fine}
    failed = await _wait(db, failing)
    assert failed is not None and failed.woken_at is None
    starts.failing.clear()
    assert await waker.wake_due() == 1 and starts.ids == {fine, failing}


async def test_an_ended_instance_has_nothing_left_to_wake(db: storage.Database) -> None:
    aborted = await _parked(db, event="go")
    await _send(db, aborted, "go")
    async with db.begin() as conn:
        assert await storage.cancel_instance(conn, aborted, now=NOW)
    assert await _wait(db, aborted) is None
    assert await _waker(db, Starts()).wake_due() == 0


async def test_the_loop_wakes_what_is_due_and_sets_one_timer_for_the_next_deadline(db: storage.Database) -> None:
    now = datetime.now(UTC)
    due = await _parked(db, wake_at=now - timedelta(seconds=1))
    later = await _parked(db, wake_at=now + timedelta(hours=1))
    soon_deadline = datetime.now(UTC) + timedelta(seconds=1)
    # Many deadlines at one instant: one timer, and one round starts them all.
    soon = {await _parked(db, wake_at=soon_deadline) for _ in range(30)}
    starts = Starts()
    waker = _waker(db, starts)
    try:
        waker.start()
        await assert_eventually(lambda: starts.ids, lambda ids: due in ids, what="the first round")
        # The poll interval is an hour: only the timer can start them, at the deadline.
        await assert_eventually(lambda: starts.ids, lambda ids: soon <= ids, what="the deadline's round")
        assert min(starts.at[i] for i in soon) >= soon_deadline
        # The hour-long wait is beyond the timer horizon: no timer yet.
        await assert_eventually(lambda: waker.timer_at, lambda at: at is None, what="no timer for the later wait")
        assert starts.ids == {due} | soon and later not in starts.ids
    finally:
        await waker.close()


async def test_a_notice_wakes_the_loop(db: storage.Database) -> None:
    starts = Starts()
    waker = _waker(db, starts)
    try:
        waker.start()
        sent = await _parked(db, event="go")
        await _send(db, sent, "go")
        waker.wake_soon()  # the poll interval is an hour: only the notice can wake it
        await assert_eventually(lambda: starts.ids, lambda ids: ids == {sent}, what="the start after the notice")
    finally:
        await waker.close()


CALLER = contextvars.ContextVar[str]("CALLER")


async def test_continuations_start_outside_the_context_of_whoever_asked(db: storage.Database) -> None:
    # A step that parks calls `remind` inside its workflow's context, and the engine starts the
    # waker in the context of whoever launched it: a continuation must not start as a child.
    soon = await _parked(db, wake_at=datetime.now(UTC) + timedelta(milliseconds=200))
    sent = await _parked(db, event="go")
    await _send(db, sent, "go")
    contexts: dict[str, str | None] = {}

    async def resume(wait: storage.DueWaitRow) -> None:
        contexts[wait.instance_id] = CALLER.get(None)

    waker = Waker(db, resume, timer_horizon=HORIZON, poll_interval=timedelta(hours=1))
    try:
        CALLER.set("the parking workflow")
        waker.start()
        waker.remind(datetime.now(UTC) + timedelta(milliseconds=200))
        waker.wake_soon()
        await assert_eventually(lambda: set(contexts), lambda started: started == {soon, sent}, what="both starts")
    finally:
        await waker.close()
    assert contexts == {soon: None, sent: None}


async def test_close_stops_the_loop_even_when_the_driver_turns_the_cancellation_into_an_error(
    db: storage.Database,
) -> None:
    # psycopg's pipeline answers a cancellation with an AssertionError: the loop's broad `except`
    # must not take it for a failed round and go on, leaving `close()` waiting for ever.
    entered = asyncio.Event()

    async def resume(wait: storage.DueWaitRow) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise AssertionError("pipeline.level == 0") from None

    await _parked(db, wake_at=datetime.now(UTC) - timedelta(seconds=1))
    waker = Waker(db, resume, timer_horizon=HORIZON, poll_interval=timedelta(hours=1))
    waker.start()
    await asyncio.wait_for(entered.wait(), timeout=30)
    await asyncio.wait_for(waker.close(), timeout=30)
    assert waker.stopped


async def test_a_round_woken_by_a_notice_reads_no_deadline(
    db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[datetime] = []
    next_deadline = storage.next_deadline

    async def counted(conn: storage.Connection, *, after: datetime) -> datetime | None:
        reads.append(after)
        return await next_deadline(conn, after=after)

    monkeypatch.setattr(storage, "next_deadline", counted)
    starts = Starts()
    waker = _waker(db, starts)
    try:
        waker.start()
        await assert_eventually(lambda: len(reads), lambda count: count == 1, what="the first round's read")
        for _ in range(2):  # the second round starts after the first has ended, its read included
            sent = await _parked(db, event="go")
            await _send(db, sent, "go")
            waker.wake_soon()
            await assert_eventually(lambda: starts.ids, lambda ids, sent=sent: sent in ids, what="the notice's round")
    finally:
        await waker.close()
    assert len(reads) == 1
