"""Long waits park the instance: its workflow ends, a row says what it waits for, and a
continuation takes it on when its event comes or its deadline passes. Short waits stay in
memory. The harness parks after 100 ms (`FAST_ENGINE`); deadlines within 500 ms get a timer,
later ones are found by the look-ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dbos import DBOS

from orchestration import storage
from orchestration.service import InstanceView
from tests.conftest import StartEngine
from tests.engine.stage_bodies import move, transactions_path
from tests.testing.engine import EngineHarness, EventRow
from tests.testing.fake_stack import FakeStack
from tests.testing.waiting import assert_eventually

NEVER = timedelta(hours=1)
# A first stage that needs the instance's workflow (a delay too short to park): a wait after
# it is the workflow's, which parks it; an instance whose first stage to run waits parks at once.
IN_WORKFLOW = {"delay": {"duration": "1ms"}}


def _assert_finished(view: InstanceView, stages: int) -> None:
    assert view.instance.terminated and view.instance.error is None, view.instance
    assert [s.stage for s in view.stages or []] == list(range(stages))
    assert all(s.terminated_at is not None and s.error is None for s in view.stages or [])


@pytest.mark.parametrize(
    ("first", "first_name"),
    [({"noop": {}}, "RunNoop"), (IN_WORKFLOW, "RunDelay")],
    ids=["parked-at-its-start", "parked-by-its-workflow"],
)
async def test_a_wait_event_parks_and_its_event_continues_it(
    engine: EngineHarness, first: dict[str, Any], first_name: str
) -> None:
    instance_id = await engine.run([first, {"wait_event": {"event": "go"}}, {"noop": {}}])
    wait = await engine.parked(instance_id, stage=1)
    assert (wait.event, wait.wake_at, wait.woken_at) == ("go", None, None)
    # Nothing of the engine holds the instance while it waits: its workflow has ended, or an
    # instance whose first stage to run waits was parked in place, with none.
    if first is IN_WORKFLOW:
        await engine.wait_workflow(instance_id, "SUCCESS")
    else:
        assert await engine.workflow_status(instance_id) is None
    assert await engine.workflow_status(f"{instance_id}:1") is None
    assert not (await engine.instance(instance_id)).instance.terminated

    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    _assert_finished(done, 3)
    assert [s.name for s in done.stages or []] == [first_name, "RunWaitEvent", "RunNoop"]
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=1)]
    # Only a noop after the wait: ended in place, in one transaction, with no continuation.
    assert await engine.workflow_status(f"{instance_id}:1") is None
    assert await engine.waits(instance_id) == []  # forgotten when the instance ended


async def test_an_event_of_another_name_wakes_nothing(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.parked(instance_id)
    await engine.instances.send_event(instance_id, "other")
    # Stored, not taken, and the instance still parked: what the waker looks at when told of
    # an event has nothing due, so no continuation starts.
    await assert_eventually(lambda: engine.events(instance_id), lambda e: e == [EventRow("other", None)])
    wait = await engine.parked(instance_id)
    assert wait.woken_at is None and wait.due_at is None
    assert await engine.workflow_status(f"{instance_id}:0") is None

    await engine.instances.send_event(instance_id, "go")
    _assert_finished(await engine.wait_terminated(instance_id), 2)
    # "other" was never taken: it went with the end of the instance.
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=0)]


async def test_an_event_sent_before_the_wait_is_taken_without_parking(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "a"}}, {"wait_event": {"event": "b"}}])
    for name in ("b", "a"):  # both before any wait, in the "wrong" order
        await engine.instances.send_event(instance_id, name)
    _assert_finished(await engine.wait_terminated(instance_id), 2)
    assert await engine.events(instance_id) == [EventRow("b", 1), EventRow("a", 0)]
    # Stage 1 found its event there: it never parked, so it has no continuation.
    assert await engine.workflow_status(f"{instance_id}:1") is None


async def test_an_event_sent_during_a_wait_in_memory_ends_it_without_parking(start_engine: StartEngine) -> None:
    engine = await start_engine(park_after=NEVER)
    instance_id = await engine.run([IN_WORKFLOW, {"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.wait_stage(instance_id, 1)
    await engine.instances.send_event(instance_id, "go")
    _assert_finished(await engine.wait_terminated(instance_id), 3)
    assert await engine.waits(instance_id) == []
    assert await engine.workflow_status(f"{instance_id}:1") is None
    await engine.wait_workflow(instance_id, "SUCCESS")  # its own workflow took the event


@pytest.mark.parametrize("first", [0, 1], ids=["parked-at-its-start", "parked-by-its-workflow"])
async def test_an_event_that_comes_as_the_instance_parks_is_not_lost(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch, first: int
) -> None:
    # The event commits with the parking itself, and nobody is told of it: the engine must
    # find it on its own.
    park = storage.park

    async def park_and_receive(conn: Any, row: storage.WaitRow, *, tell_within: timedelta) -> None:
        await park(conn, row, tell_within=tell_within)
        await storage.insert_event(conn, row.instance_id, "go", datetime.now(UTC))

    monkeypatch.setattr(storage, "park", park_and_receive)
    instance_id = await engine.run([*[IN_WORKFLOW] * first, {"wait_event": {"event": "go"}}, {"noop": {}}])
    _assert_finished(await engine.wait_terminated(instance_id), first + 2)
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=first)]


async def test_a_parked_wait_event_outlives_a_restart(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.parked(instance_id)
    await engine.restart()
    await engine.instances.send_event(instance_id, "go")
    _assert_finished(await engine.wait_terminated(instance_id), 2)


async def test_a_long_delay_parks_and_ends_at_its_deadline(engine: EngineHarness) -> None:
    # The delay is further than park_after from the stage's start: it parks at the instance's start.
    assert engine.settings.engine.park_after < timedelta(milliseconds=200)
    instance_id = await engine.run([{"delay": {"duration": "2s"}}, {"delay": {"duration": "10ms"}}])
    done = await engine.wait_terminated(instance_id)
    _assert_finished(done, 2)
    delay = (done.stages or [])[0]
    assert delay.terminated_at is not None and delay.terminated_at >= delay.started_at + timedelta(seconds=2)
    await engine.wait_workflow(f"{instance_id}:0", "SUCCESS")  # it parked: a continuation ran the second delay


async def test_a_delay_beyond_the_timer_horizon_is_found_by_the_look_ahead(start_engine: StartEngine) -> None:
    engine = await start_engine(timer_horizon=timedelta(milliseconds=200))
    # Until 200 ms before the deadline no look-ahead sets a timer: seconds of slack for a
    # loaded machine to see the instance parked.
    instance_id = await engine.run([{"delay": {"duration": "3s"}}])
    wait = await engine.parked(instance_id)
    assert wait.event is None and wait.wake_at is not None
    # Too far for a timer when it parked: only a look-ahead, once the deadline is near, sets one.
    assert engine.engine._waker.timer_at != wait.wake_at
    done = await engine.wait_terminated(instance_id)
    _assert_finished(done, 1)
    assert (done.stages or [])[0].terminated_at >= wait.wake_at  # type: ignore[operator]
    assert await engine.workflow_status(f"{instance_id}:0") is None  # nothing after it: ended in place


async def test_a_short_delay_waits_in_memory(engine: EngineHarness) -> None:
    assert engine.settings.engine.park_after > timedelta(milliseconds=20)
    instance_id = await engine.run([{"delay": {"duration": "20ms"}}, {"noop": {}}])
    _assert_finished(await engine.wait_terminated(instance_id), 2)
    await engine.wait_workflow(instance_id, "SUCCESS")
    assert await engine.workflow_status(f"{instance_id}:0") is None  # never parked, never continued


async def test_a_parked_delay_whose_deadline_passed_while_no_engine_ran_ends_at_the_next_start(
    engine: EngineHarness,
) -> None:
    # Seen parked, and the engine stopped, before the deadline: seconds of slack for a loaded machine.
    instance_id = await engine.run([{"delay": {"duration": "3s"}}, {"noop": {}}])
    wait = await engine.parked(instance_id)
    assert wait.wake_at is not None
    await engine.stop()
    async with engine.database() as db, db.read() as conn:
        left = await storage.get_wait(conn, instance_id, 0)
    assert left is not None and left.woken_at is None  # nothing woke it before the stop
    await assert_eventually(lambda: datetime.now(UTC), lambda now: now > wait.wake_at, what="the deadline to pass")
    await engine.start()
    _assert_finished(await engine.wait_terminated(instance_id), 2)
    assert await engine.workflow_status(f"{instance_id}:0") is None  # ended in place


async def test_a_continuation_asked_for_twice_runs_once(
    money_engine: EngineHarness, fake_stack: FakeStack, ledger: str
) -> None:
    instance_id = await money_engine.run([{"wait_event": {"event": "go"}}, move("world", "bank", ledger)])
    await money_engine.parked(instance_id)
    # The event arrives without a word to the engine; then everyone asks for the continuation at once.
    async with money_engine.db.begin() as conn:
        await storage.insert_event(conn, instance_id, "go", datetime.now(UTC))
    started = [await money_engine.wake_due() for _ in range(3)]
    assert started[0] in (0, 1)  # 0: the engine's own look-ahead or poll was first
    _assert_finished(await money_engine.wait_terminated(instance_id), 2)
    await money_engine.wait_workflow(f"{instance_id}:0", "SUCCESS")
    assert len(fake_stack.requests("POST", transactions_path(ledger))) == 1
    assert fake_stack.balance(ledger, "bank", "USD/2") == 100
    [activity] = await money_engine.activities(instance_id, 1)
    assert activity.attempt == 1
    workflows = await DBOS.list_workflows_async(workflow_id_prefix=instance_id)
    assert [w.workflow_id for w in workflows] == [f"{instance_id}:0"]  # parked at its start: no other
