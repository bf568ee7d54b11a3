"""Abort (Q-1 fixed): the instance and its running stage end with `canceled` at once, whatever
the stage is doing (sleeping, waiting for an event, parked, retrying a call), and nothing of
the instance runs afterwards: the workflow that held it ends, later stages never start."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.config import RetrySettings
from orchestration.engine import _instance_workflow
from orchestration.errors import InstanceNotFound, ValidationFailed
from tests.conftest import StartEngine
from tests.engine.stage_bodies import move, transactions_path
from tests.testing.engine import EngineHarness
from tests.testing.fake_stack import FakeStack
from tests.testing.waiting import assert_eventually

NEVER = timedelta(hours=1)
WAITS = [{"delay": {"duration": "1h"}}, {"wait_event": {"event": "never"}}]
# A first stage that needs the instance's workflow (a delay too short to park), so that the wait
# after it is the workflow's: a wait the instance starts with parks without one.
IN_WORKFLOW = {"delay": {"duration": "1ms"}}


async def _assert_stopped(engine: EngineHarness, instance_id: str, *, stage: int = 0, workflow: bool = True) -> None:
    """Canceled with its stage `stage` (those before it ended well), and held by nothing any more;
    `workflow`: the instance had one, which has ended."""
    view = await engine.instance(instance_id)
    assert view.instance.terminated and view.instance.error == "canceled"
    assert [(s.stage, s.error) for s in view.stages or []] == [*((n, None) for n in range(stage)), (stage, "canceled")]
    assert (view.stages or [])[-1].terminated_at == view.instance.terminated_at
    if workflow:
        # The workflow ends only once its wait gave up (a 1 h wait, unless the abort woke it);
        # once it has ended, nothing can start the next stage.
        await engine.wait_workflow(instance_id, "SUCCESS")
    else:
        assert await engine.workflow_status(instance_id) is None
    assert len((await engine.instance(instance_id)).stages or []) == stage + 1
    assert await engine.waits(instance_id) == []


@pytest.mark.parametrize("stage", WAITS, ids=["delay", "wait_event"])
async def test_abort_stops_an_instance_waiting_in_memory(start_engine: StartEngine, stage: dict[str, Any]) -> None:
    engine = await start_engine(park_after=NEVER)  # nothing parks: the wait is held by the workflow
    instance_id = await engine.run([IN_WORKFLOW, stage, {"noop": {}}])
    await engine.wait_stage(instance_id, 1)
    await engine.instances.abort(instance_id)
    await _assert_stopped(engine, instance_id, stage=1)


async def test_abort_wakes_a_brief_sleep(start_engine: StartEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    # An hour counted as brief: slept in memory without a step; only the abort can end it early.
    monkeypatch.setattr(_instance_workflow, "BRIEF_SLEEP", timedelta(hours=2))
    engine = await start_engine(park_after=NEVER)
    instance_id = await engine.run([IN_WORKFLOW, {"delay": {"duration": "1h"}}, {"noop": {}}])
    await engine.wait_stage(instance_id, 1)
    # Asleep: an abort between its stage's start and its sleep is found by the next `advance` only,
    # after the sleep (at most a second, with the real threshold).
    await assert_eventually(lambda: engine.engine.signals.waiting, bool, what="the sleep to listen")
    await engine.instances.abort(instance_id)
    await _assert_stopped(engine, instance_id, stage=1)


async def test_a_brief_sleep_rides_out_a_failed_read_and_still_hears_the_abort(
    start_engine: StartEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_instance_workflow, "BRIEF_SLEEP", timedelta(hours=2))
    engine = await start_engine(park_after=NEVER)
    instance_id = await engine.run([IN_WORKFLOW, {"delay": {"duration": "1h"}}, {"noop": {}}])
    await engine.wait_stage(instance_id, 1)
    get_instance, failed = storage.get_instance, []

    async def unreachable(conn: Any, target: str) -> Any:
        if not failed:
            failed.append(target)
            raise sa.exc.OperationalError("SELECT", {}, Exception("connection lost"))
        return await get_instance(conn, target)

    monkeypatch.setattr(storage, "get_instance", unreachable)
    def something_happened() -> list[str]:  # to it (an event of another name, say): the sleep looks
        engine.engine.notify(instance_id)  # (again until it does: the sleep may not be listening yet)
        return failed

    await assert_eventually(something_happened, bool, what="the sleep's failed look")
    await engine.instances.abort(instance_id)  # still asleep, it hears this one
    await _assert_stopped(engine, instance_id, stage=1)


@pytest.mark.parametrize("first", [0, 1], ids=["at-start", "by-its-workflow"])
@pytest.mark.parametrize("stage", WAITS, ids=["delay", "wait_event"])
async def test_abort_stops_a_parked_instance(engine: EngineHarness, stage: dict[str, Any], first: int) -> None:
    instance_id = await engine.run([*[IN_WORKFLOW] * first, stage, {"noop": {}}])
    await engine.parked(instance_id, stage=first)
    if first:
        await engine.wait_workflow(instance_id, "SUCCESS")  # parked: no workflow holds it
    await engine.instances.abort(instance_id)
    await _assert_stopped(engine, instance_id, stage=first, workflow=bool(first))
    # Nothing is left to wake: no continuation, now or later; an event is refused.
    assert await engine.wake_due() == 0
    assert await engine.workflow_status(f"{instance_id}:{first}") is None
    with pytest.raises(ValidationFailed):
        await engine.instances.send_event(instance_id, "never")


async def test_abort_stops_an_activity_waiting_to_retry(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str
) -> None:
    # The wait before the second attempt is an hour: only the abort can end it.
    engine = await start_engine(
        stack_url=fake_stack.url, retry=RetrySettings(max_attempts=3, initial_interval=NEVER, max_interval=NEVER)
    )
    fake_stack.fail_next("POST", transactions_path(ledger), times=None, status=503, message="ledger is down")
    instance_id = await engine.run([move("world", "bank", ledger), {"noop": {}}])
    [pending] = await assert_eventually(
        lambda: engine.activities(instance_id, 0),
        lambda activities: bool(activities) and activities[0].last_failure is not None,
        what="the first attempt to fail",
    )
    assert pending.attempt == 2 and pending.next_execution is not None
    await engine.instances.abort(instance_id)
    await _assert_stopped(engine, instance_id)
    [activity] = await engine.instances.stage_history(instance_id, 0)
    assert activity.error == "cancelled" and activity.terminated_at is not None
    assert len(fake_stack.requests("POST", transactions_path(ledger))) == 1
    fake_stack.clear_faults()


async def test_abort_during_a_call_in_flight_keeps_the_instance_canceled(
    money_engine: EngineHarness, fake_stack: FakeStack, ledger: str
) -> None:
    hold = fake_stack.hold("POST", transactions_path(ledger))
    instance_id = await money_engine.run([move("world", "bank", ledger), {"noop": {}}])
    await assert_eventually(lambda: hold.arrived, what="the ledger call")
    await money_engine.instances.abort(instance_id)
    hold.release()  # the answer comes after the abort: it changes nothing
    await _assert_stopped(money_engine, instance_id)
    [activity] = await money_engine.instances.stage_history(instance_id, 0)
    assert activity.error == "cancelled"


async def test_abort_stops_an_instance_recovered_after_a_restart(start_engine: StartEngine) -> None:
    engine = await start_engine(park_after=NEVER)
    instance_id = await engine.run([{"delay": {"duration": "1h"}}, {"noop": {}}])
    await engine.wait_stage(instance_id, 0)
    await engine.restart()
    await engine.instances.abort(instance_id)
    await _assert_stopped(engine, instance_id)


async def test_aborting_a_finished_instance_changes_nothing(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"noop": {}}])
    done = await engine.wait_terminated(instance_id)
    await engine.instances.abort(instance_id)
    again = await engine.instance(instance_id)
    assert again.instance == done.instance and again.stages == done.stages


async def test_aborting_twice_keeps_the_first_abort(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "never"}}])
    await engine.wait_stage(instance_id, 0)
    await engine.instances.abort(instance_id)
    first = await engine.instance(instance_id)
    await engine.instances.abort(instance_id)
    assert (await engine.instance(instance_id)).instance.terminated_at == first.instance.terminated_at


async def test_aborting_an_unknown_instance_is_not_found(engine: EngineHarness) -> None:
    with pytest.raises(InstanceNotFound):
        await engine.instances.abort("00000000-0000-0000-0000-000000000000")
