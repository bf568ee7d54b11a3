"""Instances run through an API-only server are started by a worker: at once on the request's
notice, by a look on its own when no notice came, each once, no more at a time than the worker
has room for, and by a survivor when the worker that took the request died before starting it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.engine import EngineClient
from orchestration.engine._slots import InstanceSlots
from orchestration.engine._starter import Starter
from orchestration.service import InstanceService, WorkflowService
from orchestration.storage._tables import engine_executors, instance_starts
from tests.storage.conftest import running_instance
from tests.testing.engine import EngineHarness, fast_settings
from tests.testing.waiting import assert_eventually

HOUR = timedelta(hours=1)


async def _request(db: storage.Database, count: int) -> list[str]:
    ids = [await running_instance(db) for _ in range(count)]
    async with db.begin() as conn:
        for instance_id in ids:
            await storage.request_start(conn, instance_id, datetime.now(UTC))
    return ids


async def _requests_left(db: storage.Database) -> int:
    async with db.read() as conn:
        return len((await conn.execute(sa.select(instance_starts.c.instance_id))).all())


@pytest.fixture
async def pg(shared_uri: str, tmp_path: Path) -> AsyncIterator[storage.Database]:
    database = storage.Database(storage.database_url(postgres_uri=shared_uri, data_dir=tmp_path))
    yield database
    await database.dispose()


@pytest.fixture
async def running_starter() -> AsyncIterator[list[Starter]]:
    started: list[Starter] = []
    yield started
    for starter in started:
        await starter.close()


async def test_each_request_is_started_once_and_a_failed_start_is_tried_again_as_its_row_is_now(
    db: storage.Database, running_starter: list[Starter]
) -> None:
    tries: Counter[str] = Counter()
    started: list[str] = []
    ids = await _request(db, 3)
    aborted_seen: list[bool] = []

    async def start(instance: storage.InstanceToStartRow) -> None:
        instance_id = instance.instance_id
        tries[instance_id] += 1
        if instance_id == ids[1]:
            aborted_seen.append(instance.terminated)
            if tries[instance_id] == 1:  # aborted before it is tried again
                async with db.begin() as conn:
                    await storage.terminate_instance(conn, instance_id, now=datetime.now(UTC), error="canceled")
                raise OSError("the engine's database did not answer")
        started.append(instance_id)

    # Its own look is an hour away: the first round at start and the retry do it all.
    starter = Starter(db, start, InstanceSlots(0), recover=_nothing, poll_interval=HOUR)
    running_starter.append(starter)
    starter.start()
    await assert_eventually(lambda: len(started), lambda count: count == 3, what="every instance started")
    assert sorted(started) == sorted(ids) and tries == {ids[0]: 1, ids[1]: 2, ids[2]: 1}
    assert aborted_seen == [False, True]  # the retry read its row again
    assert await _requests_left(db) == 0


async def test_no_more_are_taken_than_there_are_free_slots(
    db: storage.Database, running_starter: list[Starter]
) -> None:
    slots = InstanceSlots(2)
    other_ends = asyncio.Event()  # an instance started otherwise holds one of the two slots

    async def other() -> None:
        async with slots.hold("other"):
            await other_ends.wait()

    holder = asyncio.create_task(other())
    await assert_eventually(lambda: slots.free, lambda free: free == 1, what="one slot held")
    ends: dict[str, asyncio.Event] = {}
    too_many: list[str] = []

    async def workflow(instance_id: str) -> None:
        async with slots.hold(instance_id):
            await ends[instance_id].wait()

    async def start(instance: storage.InstanceToStartRow) -> None:
        # As the engine does: the workflow is started, and asks for its slot once it runs.
        instance_id = instance.instance_id
        if slots.free == 0:
            too_many.append(instance_id)
        ends[instance_id] = asyncio.Event()
        slots.expect(instance_id, asyncio.ensure_future(workflow(instance_id)))

    ids = await _request(db, 3)
    starter = Starter(db, start, slots, recover=_nothing, poll_interval=HOUR)
    running_starter.append(starter)
    starter.start()
    first = await assert_eventually(lambda: list(ends), lambda started: len(started) == 1, what="one started")
    other_ends.set()  # its slot frees: one more is taken
    await assert_eventually(lambda: list(ends), lambda started: len(started) == 2, what="two started")
    ends[first[0]].set()  # and when one of those ends, the last
    await assert_eventually(lambda: list(ends), lambda started: len(started) == 3, what="all started")
    assert sorted(ends) == sorted(ids) and too_many == []
    for end in ends.values():
        end.set()
    await holder



async def _nothing() -> None:
    pass


async def test_after_a_take_that_failed_the_instances_nothing_accounts_for_are_looked_for(
    pg: storage.Database, running_starter: list[Starter], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL, where starters run: the lost take commits beside the starter's own transaction.
    db = pg
    taking = storage.take_starts
    lost: list[str] = []

    async def committed_then_lost(conn: storage.Connection, limit: int) -> list[storage.InstanceToStartRow]:
        if not lost:  # the first take commits, and its answer is lost with the connection
            async with db.begin() as other:
                lost.extend(taken.instance_id for taken in await taking(other, limit))
            raise OSError("connection lost")
        return await taking(conn, limit)

    monkeypatch.setattr(storage, "take_starts", committed_then_lost)
    started: list[str] = []
    recovered: list[list[str]] = []

    async def start(instance: storage.InstanceToStartRow) -> None:
        started.append(instance.instance_id)

    async def recover() -> None:
        recovered.append(list(lost))

    ids = await _request(db, 2)
    starter = Starter(db, start, InstanceSlots(0), recover=recover, poll_interval=HOUR)
    running_starter.append(starter)
    starter.start()
    await assert_eventually(lambda: len(recovered), lambda count: count == 1, what="a look for lost instances")
    assert sorted(recovered[0]) == sorted(ids) and started == []  # taken by the lost take, started by the look
    await _request(db, 1)
    starter.asked()
    await assert_eventually(lambda: len(started), lambda count: count == 1, what="the next request started")
    assert len(recovered) == 1  # once the database answered again, not at every round


QUIET: dict[str, Any] = {
    # Neither the look-ahead nor the starter's own look comes within a test while notices are heard.
    "look_ahead_interval": timedelta(minutes=30),
    "timer_horizon": HOUR,
}




async def _run_elsewhere(engine: EngineHarness, stages: list[Any]) -> str:
    """Run an instance as an API-only server does, in a process of its own."""
    workflow_id = await engine.create_workflow(stages)
    async with engine.database() as other:
        api_only = InstanceService(other, EngineClient(), wait_timeout=HOUR, wait_poll_interval=HOUR)
        return (await api_only.run(workflow_id, {}, wait=False)).instance.id


@pytest.mark.parametrize(
    "stages",
    [[{"noop": {}}, {"noop": {}}], [{"delay": {"duration": "1ms"}}, {"noop": {}}]],
    ids=["in place", "workflow"],
)
async def test_an_instance_run_through_an_api_only_server_is_started_on_its_notice(
    shared_uri: str, tmp_path: Path, stages: list[Any]
) -> None:
    async with EngineHarness.running(tmp_path / "data", postgres_uri=shared_uri, **QUIET) as engine:
        await engine.listening()
        instance_id = await _run_elsewhere(engine, stages)
        done = await engine.wait_terminated(instance_id, timeout=20)
        assert done.instance.error is None and len(done.stages or []) == 2
        assert await _requests_left(engine.db) == 0


async def test_a_request_without_a_notice_is_found_by_the_workers_own_look(shared_uri: str, tmp_path: Path) -> None:
    # While it hears notices a worker still looks on its own every --look-ahead-interval (here 200 ms).
    async with EngineHarness.running(
        tmp_path / "data", postgres_uri=shared_uri, look_ahead_interval=timedelta(milliseconds=200), timer_horizon=HOUR
    ) as engine:
        await engine.listening()
        instance_id = await running_instance(engine.db)
        request = sa.insert(instance_starts).values(instance_id=instance_id, requested_at=datetime.now(UTC))
        async with engine.db.begin() as conn:  # as if the request's notice were lost
            await conn.execute(request)
        done = await engine.wait_terminated(instance_id, timeout=20)
        assert done.instance.error is None and await _requests_left(engine.db) == 0


async def test_an_instance_taken_by_a_worker_that_died_before_starting_it_is_started_by_a_survivor(
    shared_uri: str, tmp_path: Path
) -> None:
    async with EngineHarness.running(tmp_path / "data", postgres_uri=shared_uri, **QUIET) as survivor:
        await survivor.listening()
        instance_id = await running_instance(survivor.db)
        async with survivor.database() as dead, dead.begin() as conn:
            # The dead worker took the request, and was last heard of an hour ago.
            await storage.request_start(conn, instance_id, datetime.now(UTC))
            assert [taken.instance_id for taken in await storage.take_starts(conn, 10)] == [instance_id]
            await storage.beat(conn, "dead", datetime.now(UTC) - HOUR)
        done = await survivor.wait_terminated(instance_id, timeout=30)
        assert done.instance.error is None


LIMIT_ONE: dict[str, Any] = {**QUIET, "max_parallel_instances": 1, "park_after": HOUR}
# Held by its workflow in memory (the wait follows a stage that needs the workflow), in its slot.
WAIT_FOR_GO = [{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}]


async def test_a_worker_that_starts_takes_no_more_requests_than_it_has_room_for_nor_starts_them_as_lost(
    shared_uri: str, tmp_path: Path
) -> None:
    engine = EngineHarness(fast_settings(tmp_path / "data", postgres_uri=shared_uri, **LIMIT_ONE))
    async with engine.database() as api_only_db:  # asked before any worker runs
        workflow_id = await _workflow(api_only_db, WAIT_FOR_GO)
        api_only = InstanceService(api_only_db, EngineClient(), wait_timeout=HOUR, wait_poll_interval=HOUR)
        ids = [(await api_only.run(workflow_id, {}, wait=False)).instance.id for _ in range(3)]
    await engine.start()
    try:
        first = await assert_eventually(
            lambda: _with_workflow(engine, ids), lambda found: len(found) == 1, what="one started"
        )
        await engine.engine._start_lost_instances()  # as a takeover does: requested instances are not lost
        assert await _with_workflow(engine, ids) == first and await _requests_left(engine.db) == 2
        for instance_id in ids:
            await engine.instances.send_event(instance_id, "go")
        for instance_id in ids:  # each in its turn, as the one before ends
            assert (await engine.wait_terminated(instance_id, timeout=30)).instance.error is None
    finally:
        await engine.stop()


async def test_an_instance_aborted_before_a_worker_took_it_is_not_started(shared_uri: str, tmp_path: Path) -> None:
    engine = EngineHarness(fast_settings(tmp_path / "data", postgres_uri=shared_uri, **QUIET))
    async with engine.database() as api_only_db:
        workflow_id = await _workflow(api_only_db, WAIT_FOR_GO)
        api_only = InstanceService(api_only_db, EngineClient(), wait_timeout=HOUR, wait_poll_interval=HOUR)
        instance_id = (await api_only.run(workflow_id, {}, wait=False)).instance.id
        await api_only.abort(instance_id)
    await engine.start()
    try:
        await assert_eventually(lambda: _requests_left(engine.db), lambda left: left == 0, what="the request taken")
        view = await engine.instance(instance_id)
        assert view.instance.error == "canceled" and view.stages == []
        assert await _with_workflow(engine, [instance_id]) == []
    finally:
        await engine.stop()


async def test_a_worker_says_it_is_alive_before_it_takes_a_request(
    shared_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taking = storage.take_starts
    alive_at_first_take: list[set[str]] = []

    async def take_seen(conn: storage.Connection, limit: int) -> list[storage.InstanceToStartRow]:
        if not alive_at_first_take:
            executors = await conn.execute(sa.select(engine_executors.c.id))
            alive_at_first_take.append(set(executors.scalars()))
        return await taking(conn, limit)

    monkeypatch.setattr(storage, "take_starts", take_seen)
    async with EngineHarness.running(tmp_path / "data", postgres_uri=shared_uri, **QUIET) as engine:
        await assert_eventually(lambda: alive_at_first_take, bool, what="a first take")
        assert engine.engine.executor_id in alive_at_first_take[0]


async def _workflow(db: storage.Database, stages: list[Any]) -> str:
    return (await WorkflowService(db).create({"name": "", "stages": stages})).id


async def _with_workflow(engine: EngineHarness, ids: list[str]) -> list[str]:
    """Those of `ids` that the engine has a workflow of."""
    return [instance_id for instance_id in ids if await engine.workflow_status(instance_id) is not None]
