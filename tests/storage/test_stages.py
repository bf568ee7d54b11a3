"""Starting and ending a stage row: a stage started again after a crash keeps its first start
(a delay's deadline is computed from it), and nothing ends a stage twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestration import storage
from tests.storage.conftest import NOW, held_open, running_instance, runs_into

LATER = NOW + timedelta(seconds=5)


async def _start(
    db: storage.Database, instance_id: str, now: datetime = NOW, name: str = "RunDelay", input: Any = None
) -> datetime:
    async with db.begin() as conn:
        config = {"duration": "1h"} if input is None else input
        stage = storage.new_stage(instance_id, 0, now=now, name=name, input=config)
        return await storage.start_stages(conn, [stage])


async def _stage(db: storage.Database, instance_id: str) -> storage.StageRow | None:
    async with db.read() as conn:
        return await storage.get_stage(conn, instance_id, 0)


async def test_a_started_stage_is_running_since_now(db: storage.Database, instance_id: str) -> None:
    assert await _start(db, instance_id) == NOW
    stage = await _stage(db, instance_id)
    assert stage is not None
    assert (stage.started_at, stage.terminated_at, stage.error) == (NOW, None, None)
    assert (stage.name, stage.input, stage.temporal_run_id) == ("RunDelay", {"duration": "1h"}, instance_id)


async def test_starting_a_stage_again_keeps_its_first_start(db: storage.Database, instance_id: str) -> None:
    await _start(db, instance_id)
    first = await _stage(db, instance_id)
    assert await _start(db, instance_id, LATER, name="RunNoop", input={}) == NOW
    assert await _stage(db, instance_id) == first


async def test_two_starts_at_once_make_one_row_with_one_start(db: storage.Database, instance_id: str) -> None:
    async def second() -> datetime:
        return await _start(db, instance_id, LATER)

    async def first(conn: storage.Connection) -> datetime:
        return await storage.start_stages(conn, [storage.new_stage(instance_id, 0, now=NOW, name="RunDelay", input={})])

    async with held_open(db, first) as finish:
        competing = await runs_into(db, second())
        assert await finish() == NOW
    assert await competing == NOW
    async with db.read() as conn:
        assert [s.started_at for s in await storage.list_stages(conn, instance_id)] == [NOW]


async def test_a_stage_with_nothing_to_do_or_a_bad_configuration_starts_ended(
    db: storage.Database, instance_id: str
) -> None:
    async with db.begin() as conn:
        await storage.start_stages(conn, [
            storage.new_stage(instance_id, 0, now=NOW, name="RunNoop", input={}, ended=True),
            storage.new_stage(instance_id, 1, now=NOW, name="RunDelay", input={}, error="bad duration"),
        ])
        stages = await storage.list_stages(conn, instance_id)
    assert [(s.stage, s.terminated_at, s.error) for s in stages] == [(0, NOW, None), (1, NOW, "bad duration")]


async def test_ending_a_stage_keeps_the_first_end(db: storage.Database, instance_id: str) -> None:
    await _start(db, instance_id)
    async with db.begin() as conn:
        assert await storage.cancel_instance(conn, instance_id, now=LATER)  # an abort ended it first
        await storage.finish_stage(conn, instance_id, 0, now=LATER + timedelta(seconds=1), error=None)
    stage = await _stage(db, instance_id)
    assert stage is not None and (stage.terminated_at, stage.error) == (LATER, storage.CANCELED)


async def test_only_running_instances_without_a_stage_may_have_an_unstarted_workflow(
    db: storage.Database, instance_id: str
) -> None:
    async with db.read() as conn:
        assert await storage.list_unstarted_instance_ids(conn) == [instance_id]
        # Younger than the bound (created at NOW): still being started by whoever wrote it.
        assert await storage.list_unstarted_instance_ids(conn, created_before=NOW) == []
        assert await storage.list_unstarted_instance_ids(conn, created_before=LATER) == [instance_id]
    # Its workflow recorded its first stage: it started (parked instances are all like this).
    async with db.begin() as conn:
        await storage.start_stages(conn, [storage.new_stage(instance_id, 0, now=NOW, name="RunNoop", input={})])
    async with db.read() as conn:
        assert await storage.list_unstarted_instance_ids(conn) == []


async def test_stages_of_several_instances_end_and_terminate_at_once(db: storage.Database, instance_id: str) -> None:
    others = [await running_instance(db) for _ in range(3)]
    ended_before, failing, unknown = others[0], others[1], "no-such-instance"
    for target in (instance_id, ended_before, failing):
        await _start(db, target)
    async with db.begin() as conn:
        assert await storage.finish_stages(conn, [(ended_before, 0)], now=NOW, error="canceled")
    async with db.begin() as conn:
        locked = await storage.lock_instances(conn, [failing, instance_id, unknown])
        assert set(locked) == {instance_id, failing} and not locked[failing].terminated
        ended = await storage.finish_stages(conn, [(instance_id, 0), (ended_before, 0), (failing, 0)], now=LATER,
                                            error=None)
        assert ended == {instance_id: ("RunDelay", NOW), failing: ("RunDelay", NOW)}  # not the one ended before
        await storage.add_stages(conn, [storage.new_stage(instance_id, 1, now=LATER, name="RunNoop", input={},
                                                          ended=True)])
        ending = [(instance_id, None), (failing, "boom"), (ended_before, None), (unknown, None)]
        assert await storage.terminate_instances(conn, ending, now=LATER) == {instance_id, failing, ended_before}
        assert await storage.terminate_instances(conn, ending, now=LATER) == set()  # nothing twice
    async with db.read() as conn:
        stages = await storage.list_stages(conn, instance_id)
        instances = {target: await storage.get_instance(conn, target) for target in (instance_id, failing)}
        kept = await storage.get_stage(conn, ended_before, 0)
    assert [(s.stage, s.name, s.terminated_at, s.error) for s in stages] == [
        (0, "RunDelay", LATER, None), (1, "RunNoop", LATER, None)
    ]
    assert kept is not None and (kept.terminated_at, kept.error) == (NOW, "canceled")
    assert {target: (row.terminated, row.terminated_at, row.error) for target, row in instances.items() if row} == {
        instance_id: (True, LATER, None), failing: (True, LATER, "boom")
    }
