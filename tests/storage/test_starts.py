"""Requests to start instances, written by API-only servers and taken by workers: oldest first, at
most as many as asked, each by one taker only, and told to the listeners when committed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.storage._tables import instance_starts
from tests.storage.conftest import NOW, held_open, running_instance


class _Rollback(Exception):
    pass


async def _requested(db: storage.Database, count: int) -> list[str]:
    """`count` instances, each with its request to start, one second apart (the first the oldest)."""
    ids = [await running_instance(db) for _ in range(count)]
    async with db.begin() as conn:
        for n, instance_id in enumerate(ids):
            await storage.request_start(conn, instance_id, NOW + timedelta(seconds=n))
    return ids


async def _take(db: storage.Database, limit: int) -> list[str]:
    async with db.begin() as conn:
        return [taken.instance_id for taken in await storage.take_starts(conn, limit)]


async def _left(db: storage.Database) -> set[str]:
    async with db.read() as conn:
        return set((await conn.execute(sa.select(instance_starts.c.instance_id))).scalars())


async def test_requests_are_taken_oldest_first_at_most_as_many_as_asked_and_only_once(db: storage.Database) -> None:
    ids = await _requested(db, 5)
    assert sorted(await _take(db, 2)) == sorted(ids[:2])
    assert await _left(db) == set(ids[2:])
    assert sorted(await _take(db, 10)) == sorted(ids[2:])
    assert await _take(db, 10) == []


async def test_a_request_is_taken_with_what_starting_its_instance_needs(db: storage.Database) -> None:
    stages = [{"noop": {}}, {"delay": {"duration": "1s"}}]
    workflow_id, running, aborted = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    async with db.begin() as conn:
        await storage.insert_workflow(
            conn,
            storage.WorkflowRow(
                id=workflow_id, config={"stages": stages}, created_at=NOW, updated_at=NOW, deleted_at=None
            ),
        )
        for instance_id, variables in ((running, {"amount": "100"}), (aborted, {})):
            await storage.insert_instance(
                conn,
                storage.InstanceRow(
                    id=instance_id, workflow_id=workflow_id, created_at=NOW, updated_at=NOW, terminated=False,
                    terminated_at=None, error=None, variables=variables,
                ),
            )
            await storage.request_start(conn, instance_id, NOW)
        await storage.terminate_instance(conn, aborted, now=NOW, error="aborted")
    async with db.begin() as conn:
        taken = {row.instance_id: row for row in await storage.take_starts(conn, 10)}
    assert taken == {
        running: storage.InstanceToStartRow(
            instance_id=running, workflow_id=workflow_id, terminated=False, variables={"amount": "100"},
            config={"stages": stages},
        ),
        aborted: storage.InstanceToStartRow(
            instance_id=aborted, workflow_id=workflow_id, terminated=True, variables={}, config={"stages": stages}
        ),
    }


async def test_a_request_rolled_back_with_its_instance_is_not_there_to_take(db: storage.Database) -> None:
    instance_id = await running_instance(db)
    with pytest.raises(_Rollback):
        async with db.begin() as conn:
            await storage.request_start(conn, instance_id, NOW)
            raise _Rollback
    assert await _take(db, 10) == []


async def test_two_workers_taking_at_once_never_take_the_same_request(pg: storage.Database) -> None:
    ids = await _requested(pg, 4)
    async with held_open(pg, lambda conn: storage.take_starts(conn, 2)) as first_commits:
        # Not blocked by the first taker's open transaction: the requests it holds are skipped.
        second = await asyncio.wait_for(_take(pg, 10), timeout=10)
        first = [taken.instance_id for taken in await first_commits()]
    assert sorted(first) == sorted(ids[:2]) and sorted(second) == sorted(ids[2:])
    assert await _left(pg) == set()


async def test_a_request_is_told_to_listening_workers_when_it_commits(pg: storage.Database) -> None:
    instance_id = await running_instance(pg)
    async with pg.notices() as notices:
        with pytest.raises(_Rollback):
            async with pg.begin() as conn:
                await storage.request_start(conn, await running_instance(pg), NOW)
                raise _Rollback
        async with pg.begin() as conn:
            await storage.request_start(conn, instance_id, NOW)
        assert await asyncio.wait_for(anext(notices), 10) == storage.Notice(storage.NoticeKind.START, instance_id)
