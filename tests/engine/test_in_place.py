"""A parked instance whose remaining stages are all instant is ended in place when its wait is
over: one transaction, no continuation workflow, the same rows and history as a continuation
would leave. Anything that runs after the wait still gets a continuation. Likewise an instance
whose first stage to run begins with a long wait is parked in place at its start, with no
workflow."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS, SetWorkflowID

from orchestration import storage
from orchestration.engine import _in_place, _moves
from orchestration.engine._instance_workflow import instance_workflow
from orchestration.errors import InstanceNotFound, ValidationFailed
from orchestration.storage._tables import instance_events
from tests.testing.engine import EngineHarness, EventRow
from tests.testing.waiting import assert_eventually


def _rows(view: Any) -> list[tuple[int, str, dict[str, Any], bool, str | None]]:
    return [(s.stage, s.name, s.input, s.terminated_at is not None, s.error) for s in view.stages or []]


async def test_a_wait_followed_by_noops_ends_in_place_with_every_stage_recorded(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}, {"noop": {}}])
    wait = await engine.parked(instance_id)
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None
    assert _rows(done) == [
        (0, "RunWaitEvent", {"event": "go"}, True, None),
        (1, "RunNoop", {}, True, None),
        (2, "RunNoop", {}, True, None),
    ]
    stages = done.stages or []
    assert stages[0].started_at <= wait.parked_at
    assert stages[0].terminated_at == stages[1].started_at == stages[2].terminated_at == done.instance.terminated_at
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=0)]
    assert await engine.workflow_status(f"{instance_id}:0") is None  # no continuation
    assert await engine.waits(instance_id) == []


async def test_a_stage_after_the_wait_that_does_not_resolve_fails_the_instance_in_place(
    engine: EngineHarness,
) -> None:
    # The same stage without a wait before it, run by the workflow: the error to expect.
    # Accepted at creation, it fails when it resolves: "soon" is no duration.
    bad = {"delay": {"duration": "${pause}"}}
    direct = await engine.wait_terminated(await engine.run([{"noop": {}}, bad], {"pause": "soon"}))
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, bad], {"pause": "soon"})
    await engine.parked(instance_id)
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is not None and done.instance.error == direct.instance.error
    assert _rows(done)[1:] == _rows(direct)[1:]
    assert await engine.workflow_status(f"{instance_id}:0") is None


async def test_a_wait_followed_by_a_stage_that_runs_gets_a_continuation(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"delay": {"duration": "10ms"}}])
    await engine.parked(instance_id)
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and [s.error for s in done.stages or []] == [None, None]
    await engine.wait_workflow(f"{instance_id}:0", "SUCCESS")


async def test_a_wake_in_place_that_fails_writes_nothing_and_is_done_at_the_next_round(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.parked(instance_id)
    terminate = storage.terminate_instances
    failures: list[Any] = []
    broken = True

    async def fail_while_broken(conn: Any, ending: Any, **kwargs: Any) -> set[str]:
        if broken:
            failures.append(ending)
            # After the event was taken and the stage ended, in the same transaction; the database
            # cannot answer now (every connection taken): the next round tries again.
            raise sa.exc.TimeoutError("no connection free")
        return await terminate(conn, ending, **kwargs)

    monkeypatch.setattr(storage, "terminate_instances", fail_while_broken)
    # The event arrives without a word to the engine: the round below is the only one that tries.
    async with engine.db.begin() as conn:
        await storage.insert_event(conn, instance_id, "go", datetime.now(UTC))
    await assert_eventually(lambda: failures, bool, what="the failed attempt")
    view = await engine.instance(instance_id)
    assert not view.instance.terminated and _rows(view) == [(0, "RunWaitEvent", {"event": "go"}, False, None)]
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=None)]
    [wait] = await engine.waits(instance_id)
    assert wait.woken_at is None and wait.due_at is not None  # still due

    broken = False
    await engine.wake_due()
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and await engine.events(instance_id) == [EventRow("go", 0)]


async def test_an_instance_of_instant_stages_runs_without_a_workflow(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"noop": {}}, {"noop": {}}, {"noop": {}}])
    done = await engine.instance(instance_id)  # ended when the run returns
    assert done.instance.terminated and done.instance.error is None
    assert _rows(done) == [(n, "RunNoop", {}, True, None) for n in range(3)]
    assert await engine.workflow_status(instance_id) is None
    empty = await engine.instance(await engine.run([]))
    assert empty.instance.terminated and empty.instance.error is None and not empty.stages


async def test_an_instance_that_starts_with_a_wait_parks_without_a_workflow(engine: EngineHarness) -> None:
    waits = await engine.run([{"noop": {}}, {"wait_event": {"event": "go"}}, {"noop": {}}])
    sleeps = await engine.run([{"delay": {"duration": "1h"}}, {"noop": {}}])
    # Parked when the run returns: the start, its rows and its wait were one transaction.
    [wait] = await engine.waits(waits)
    [sleep] = await engine.waits(sleeps)
    for instance_id in (waits, sleeps):
        assert await engine.workflow_status(instance_id) is None
    waiting, sleeping = await engine.instance(waits), await engine.instance(sleeps)
    assert _rows(waiting) == [(0, "RunNoop", {}, True, None), (1, "RunWaitEvent", {"event": "go"}, False, None)]
    assert _rows(sleeping) == [(0, "RunDelay", {"duration": "1h0m0s"}, False, None)]
    assert (wait.stage, wait.event, wait.wake_at, wait.due_at) == (1, "go", None, None)
    [started] = sleeping.stages or []
    assert (sleep.stage, sleep.event) == (0, None)
    assert sleep.wake_at == sleep.due_at == started.started_at + timedelta(hours=1)
    assert wait.parked_at == (waiting.stages or [])[1].started_at and sleep.parked_at == started.started_at

    await engine.instances.send_event(waits, "go")
    done = await engine.wait_terminated(waits)
    assert done.instance.error is None and [r[3:] for r in _rows(done)] == [(True, None)] * 3
    assert await engine.events(waits) == [EventRow("go", consumed_by_stage=1)]
    assert await engine.workflow_status(f"{waits}:1") is None  # only a noop after it: ended in place too


async def test_an_instance_that_starts_with_a_short_wait_is_run_by_its_workflow(
    engine: EngineHarness,
) -> None:
    assert engine.settings.engine.park_after == timedelta(milliseconds=100)
    instance_id = await engine.run([{"delay": {"duration": "50ms"}}, {"noop": {}}])
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and [r[3:] for r in _rows(done)] == [(True, None)] * 2
    await engine.wait_workflow(instance_id, "SUCCESS")
    assert await engine.waits(instance_id) == []


async def _unstarted(engine: EngineHarness, stages: list[Any]) -> str:
    """An instance whose row is written and whose start has not run (a run request between its two
    writes)."""
    workflow_id = await engine.create_workflow(stages)
    instance_id, now = str(uuid.uuid4()), datetime.now(UTC)
    async with engine.db.begin() as conn:
        await storage.insert_instance(
            conn,
            storage.InstanceRow(
                id=instance_id, workflow_id=workflow_id, created_at=now, updated_at=now, terminated=False,
                terminated_at=None, error=None, variables={},
            ),
        )
    return instance_id


async def test_an_event_sent_before_an_instance_parks_at_its_start_wakes_it_at_once(engine: EngineHarness) -> None:
    # Sent between the run request's two writes: its start parks it already due.
    stages = [{"wait_event": {"event": "go"}}, {"noop": {}}]
    instance_id = await _unstarted(engine, stages)
    async with engine.db.begin() as conn:
        await storage.insert_event(conn, instance_id, "go", datetime.now(UTC))
    await engine.engine.start_instance(instance_id, stages, {})
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and [r[:2] for r in _rows(done)] == [(0, "RunWaitEvent"), (1, "RunNoop")]
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=0)]
    assert await engine.workflow_status(instance_id) is None
    assert await engine.workflow_status(f"{instance_id}:0") is None


async def test_an_instance_started_twice_at_once_is_parked_once(engine: EngineHarness) -> None:
    # A worker's launch lists an instance unstarted while its run request is still starting it.
    stages = [{"noop": {}}, {"wait_event": {"event": "go"}}, {"noop": {}}]
    instance_id = await _unstarted(engine, stages)
    await asyncio.gather(*(engine.engine.start_instance(instance_id, stages, {}) for _ in range(2)))
    [wait] = await engine.waits(instance_id)
    assert wait.stage == 1 and await engine.workflow_status(instance_id) is None
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and [r[:2] for r in _rows(done)] == [
        (0, "RunNoop"), (1, "RunWaitEvent"), (2, "RunNoop")
    ]
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=1)]


async def test_a_workflow_started_after_its_instance_parked_at_its_start_stops_at_the_wait(
    engine: EngineHarness,
) -> None:
    # The other order: the instance parks in place first, then a second start runs its workflow.
    stages = [{"wait_event": {"event": "go"}}, {"noop": {}}]
    instance_id = await _unstarted(engine, stages)
    await engine.engine.start_instance(instance_id, stages, {})
    [wait] = await engine.waits(instance_id)
    before = await engine.instance(instance_id)
    with SetWorkflowID(instance_id):
        await DBOS.start_workflow_async(instance_workflow, instance_id, stages, {})
    await engine.wait_workflow(instance_id, "SUCCESS")
    assert await engine.waits(instance_id) == [wait]
    assert (await engine.instance(instance_id)).stages == before.stages and not before.instance.terminated
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and len(done.stages or []) == 2
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=0)]


async def test_an_instance_aborted_before_it_parks_at_its_start_is_left_ended(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _in_place.run_stage

    async def abort_first(context: Any, resolved: Any) -> None:
        await engine.instances.abort(context.instance_id)  # between the run request's two writes
        await plan(context, resolved)

    monkeypatch.setattr(_in_place, "run_stage", abort_first)
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    view = await engine.instance(instance_id)
    assert view.instance.terminated and view.instance.error == "canceled" and not view.stages
    assert await engine.waits(instance_id) == []
    assert await engine.workflow_status(instance_id) is None


async def test_an_instance_that_cannot_run_in_place_is_run_by_its_workflow(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_stages = storage.add_stages
    failed: list[int] = []

    async def fail_first(conn: Any, rows: Any) -> Any:
        if not failed:
            failed.append(len(rows))
            raise OSError("the disk is gone")
        return await add_stages(conn, rows)

    monkeypatch.setattr(storage, "add_stages", fail_first)
    instance_id = await engine.run([{"noop": {}}, {"noop": {}}])
    assert failed == [2]
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and _rows(done) == [(n, "RunNoop", {}, True, None) for n in range(2)]
    await engine.wait_workflow(instance_id, "SUCCESS")


async def test_a_wake_in_place_that_fails_for_another_reason_is_left_to_the_continuation(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.parked(instance_id)
    terminate = storage.terminate_instances
    failed: list[str] = []

    async def fail_first(conn: Any, ending: Any, **kwargs: Any) -> set[str]:
        if not failed:
            failed.extend(instance for instance, _ in ending)
            raise RuntimeError("a bug that would fail it every time")
        return await terminate(conn, ending, **kwargs)

    monkeypatch.setattr(storage, "terminate_instances", fail_first)
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert failed == [instance_id] and done.instance.error is None
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=0)]
    await engine.wait_workflow(f"{instance_id}:0", "SUCCESS")


async def _park(engine: EngineHarness, stages: list[Any], count: int) -> list[str]:
    """`count` instances of `stages`, once each is parked."""
    ids = [await engine.run(stages) for _ in range(count)]
    for instance_id in ids:
        await engine.parked(instance_id)
    return ids


async def _send_together(engine: EngineHarness, ids: list[str]) -> None:
    """`go` to each, in one transaction, at one instant: their waits come due together (a round of
    the waker reads those due at its own start: with instants of their own, it could see some)."""
    now = datetime.now(UTC)
    async with engine.db.begin() as conn:
        for instance_id in ids:
            await storage.insert_event(conn, instance_id, "go", now)


async def _park_and_send_together(engine: EngineHarness, stages: list[Any], count: int) -> list[str]:
    ids = await _park(engine, stages, count)
    await _send_together(engine, ids)
    return ids


async def test_waits_due_together_end_in_place_a_transaction_per_bite_of_50(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions = itertools.count()
    current: contextvars.ContextVar[int] = contextvars.ContextVar("transaction", default=-1)
    locked: list[tuple[int, str]] = []
    begin, lock, lock_all = engine.db.begin, storage.lock_instance, storage.lock_instances

    @contextlib.asynccontextmanager
    async def numbered_begin() -> AsyncIterator[Any]:
        token = current.set(next(transactions))
        try:
            async with begin() as conn:
                yield conn
        finally:
            current.reset(token)

    async def recorded_lock(conn: Any, instance_id: str) -> Any:
        locked.append((current.get(), instance_id))
        return await lock(conn, instance_id)

    async def recorded_lock_all(conn: Any, instance_ids: Any) -> Any:
        instance_ids = list(instance_ids)
        locked.extend((current.get(), instance_id) for instance_id in instance_ids)
        return await lock_all(conn, instance_ids)

    monkeypatch.setattr(engine.db, "begin", numbered_begin)
    monkeypatch.setattr(storage, "lock_instance", recorded_lock)
    monkeypatch.setattr(storage, "lock_instances", recorded_lock_all)
    ids = await _park_and_send_together(engine, [{"wait_event": {"event": "go"}}, {"noop": {}}], 55)
    for instance_id in ids:
        done = await engine.wait_terminated(instance_id)
        assert done.instance.error is None and _rows(done)[1] == (1, "RunNoop", {}, True, None)
        assert await engine.workflow_status(f"{instance_id}:0") is None
    # Each was locked when it was run and parked too: the last lock of each is its end.
    last = {instance_id: number for number, instance_id in locked if instance_id in ids}
    ends = sorted(set(last.values()))
    assert -1 not in ends and len(ends) == 2, f"ended in transactions {ends}"
    sizes = sorted(list(last.values()).count(number) for number in ends)
    assert sizes == [5, 50]
    earlier = {number for number, instance_id in locked if instance_id in ids} - set(ends)
    assert earlier and max(earlier) < min(ends)  # the parking transactions, each its own


async def test_a_batch_ends_what_it_can_and_leaves_the_rest_to_continuations(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait = {"wait_event": {"event": "go"}}
    instant = await _park(engine, [wait, {"noop": {}}], 3)
    running = await _park(engine, [wait, {"delay": {"duration": "10ms"}}], 2)
    # One is aborted after the waker listed it, before its batch locks it: the others still end.
    aborted = instant[1]
    due_waits = storage.due_waits

    async def abort_after_listing(conn: Any, **kwargs: Any) -> Any:
        due = await due_waits(conn, **kwargs)
        if any(wait.instance_id == aborted for wait in due):
            await engine.instances.abort(aborted)
        return due

    monkeypatch.setattr(storage, "due_waits", abort_after_listing)
    await _send_together(engine, instant + running)
    await engine.wake_due()
    for instance_id in instant + running:
        done = await engine.wait_terminated(instance_id)
        assert done.instance.error == ("canceled" if instance_id == aborted else None), instance_id
    for instance_id in instant:
        assert await engine.workflow_status(f"{instance_id}:0") is None
    for instance_id in running:
        await engine.wait_workflow(f"{instance_id}:0", "SUCCESS")
    assert await engine.events(aborted) == []  # its event was dropped with it, never taken


async def test_a_batch_that_fails_in_place_is_left_to_the_continuations(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminate = storage.terminate_instances
    failed: list[str] = []

    async def fail_the_first(conn: Any, ending: Any, **kwargs: Any) -> set[str]:
        if not failed:
            failed.extend(instance_id for instance_id, _ in ending)
            raise RuntimeError("a bug that would fail it every time")
        return await terminate(conn, ending, **kwargs)

    monkeypatch.setattr(storage, "terminate_instances", fail_the_first)
    ids = await _park_and_send_together(engine, [{"wait_event": {"event": "go"}}, {"noop": {}}], 3)
    for instance_id in ids:
        done = await engine.wait_terminated(instance_id)
        assert done.instance.error is None and _rows(done)[1] == (1, "RunNoop", {}, True, None)
        assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=0)]
        assert instance_id in failed  # its end was in the batch that failed
        # The batch's transaction was rolled back whole: each one's continuation ended it.
        await engine.wait_workflow(f"{instance_id}:0", "SUCCESS")


def _woken_end(instance_id: str, *, error: str | None = None) -> _moves.InPlaceEnd:
    """How the waker ends an instance of `[wait_event go, noop]` woken in place."""
    return _moves.InPlaceEnd(instance_id, woken=0, starts=[_moves.StageStart(1, "RunNoop", {}, ended=True)],
                             error=error, take_event=(0, "go"))


async def test_a_batch_says_what_became_of_each_end_given(engine: EngineHarness) -> None:
    ended, failing, without_event, aborted = [
        await engine.run([{"wait_event": {"event": "x"}}, {"noop": {}}]) for _ in range(4)
    ]
    for instance_id in (ended, failing, without_event, aborted):
        await engine.parked(instance_id)
    async with engine.db.begin() as conn:  # their events, their waits not made due: no waker takes them
        for instance_id in (ended, failing):
            await conn.execute(sa.insert(instance_events).values(instance_id=instance_id, name="go",
                                                                 sent_at=datetime.now(UTC)))
    await engine.instances.abort(aborted)
    unknown = str(uuid.uuid4())
    ends = [_woken_end(failing, error="boom"), _woken_end(ended), _woken_end(without_event), _woken_end(aborted),
            _woken_end(unknown), _woken_end(ended)]
    # The same instance twice: its first end ends it, the second finds nothing to do.
    assert await _moves.end_in_place(ends) == ["ended", "ended", "no event", "aborted", "aborted", "no event"]
    done, failed, waiting = [await engine.instance(i) for i in (ended, failing, without_event)]
    assert done.instance.terminated and done.instance.error is None
    assert _rows(done) == [(0, "RunWaitEvent", {"event": "x"}, True, None), (1, "RunNoop", {}, True, None)]
    assert failed.instance.terminated and failed.instance.error == "boom"
    assert not waiting.instance.terminated and await engine.waits(without_event) != []
    assert await engine.waits(ended) == [] and await engine.waits(failing) == []
    assert await engine.events(ended) == [EventRow("go", consumed_by_stage=0)]


async def test_overlapping_batches_with_aborts_and_events_end_each_instance_once(engine: EngineHarness) -> None:
    ids = [await engine.run([{"wait_event": {"event": "x"}}, {"noop": {}}]) for _ in range(30)]
    for instance_id in ids:
        await engine.parked(instance_id)
    await _send_together(engine, ids)  # (waking them would race the batches below: that is the point)
    orders = [ids, ids[::-1], random.Random(7).sample(ids, len(ids))]

    async def abort_some() -> None:
        for instance_id in ids[::7]:
            await engine.instances.abort(instance_id)

    async def send_more() -> None:
        for instance_id in ids[::5]:
            with contextlib.suppress(InstanceNotFound, ValidationFailed):  # ended meanwhile
                await engine.instances.send_event(instance_id, "go")

    *outcomes, _, _ = await asyncio.gather(
        *(_moves.end_in_place([_woken_end(i) for i in order]) for order in orders), abort_some(), send_more()
    )
    ends = {instance_id: 0 for instance_id in ids}
    for order, outcome in zip(orders, outcomes, strict=True):
        for instance_id, became in zip(order, outcome, strict=True):
            ends[instance_id] += became == "ended"
    assert set(ends.values()) <= {0, 1}
    for instance_id in ids:  # by a batch, an abort, or the waker
        done = await engine.wait_terminated(instance_id)
        assert done.instance.error in ((None, "canceled") if instance_id in ids[::7] else (None,))
