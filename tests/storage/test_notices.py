"""Notices between processes on PostgreSQL: what a committed transaction changed is told to every
listener, once it commits and only then; a lost listening connection says so."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.storage._notices import CHANNEL, tell
from tests.storage.conftest import NOW
from tests.testing.postgres import PostgresServer

TIMEOUT = 10.0


class _Rollback(Exception):
    pass


@pytest.fixture
async def pg(postgres: PostgresServer, migrated_template: str, tmp_path: object) -> AsyncIterator[storage.Database]:
    uri = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
    database = storage.Database(storage.database_url(postgres_uri=uri, data_dir=tmp_path, driver="async"))  # type: ignore[arg-type]
    yield database
    await database.dispose()


@pytest.fixture
async def parked_instance(pg: storage.Database) -> str:
    workflow_id, instance_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with pg.begin() as conn:
        await storage.insert_workflow(
            conn, storage.WorkflowRow(id=workflow_id, config={}, created_at=NOW, updated_at=NOW, deleted_at=None)
        )
        await storage.insert_instance(
            conn,
            storage.InstanceRow(
                id=instance_id, workflow_id=workflow_id, created_at=NOW, updated_at=NOW, terminated=False,
                terminated_at=None, error=None, variables={},
            ),
        )
    return instance_id


async def _next(notices: AsyncIterator[storage.Notice]) -> storage.Notice:
    return await asyncio.wait_for(anext(notices), TIMEOUT)


def _wait(instance_id: str, *, event: str | None = None, deadline: timedelta | None = None) -> storage.WaitRow:
    return storage.WaitRow(
        instance_id=instance_id, stage=1, event=event, wake_at=NOW + deadline if deadline else None,
        parked_at=NOW, woken_at=None,
    )


async def test_what_a_committed_transaction_changed_is_told_and_a_rolled_back_one_says_nothing(
    pg: storage.Database, parked_instance: str
) -> None:
    async with pg.notices() as notices:
        with pytest.raises(_Rollback):
            async with pg.begin() as conn:
                await storage.insert_event(conn, parked_instance, "lost", NOW)
                raise _Rollback
        # Nothing waits for it: an event tells of a change only.
        async with pg.begin() as conn:
            assert not await storage.insert_event(conn, parked_instance, "early", NOW)
        assert await _next(notices) == storage.Notice(storage.NoticeKind.CHANGED, parked_instance)

        # A parked wait for it: the event makes it due.
        async with pg.begin() as conn:
            await storage.park(conn, _wait(parked_instance, event="go"))
            assert await storage.insert_event(conn, parked_instance, "go", NOW)
        assert await _next(notices) == storage.Notice(storage.NoticeKind.DUE, parked_instance)

        async with pg.begin() as conn:
            assert await storage.cancel_instance(conn, parked_instance, now=NOW)
        assert await _next(notices) == storage.Notice(storage.NoticeKind.CHANGED, parked_instance)


async def test_a_deadline_parked_is_told_with_its_instant(pg: storage.Database, parked_instance: str) -> None:
    async with pg.notices() as notices:
        async with pg.begin() as conn:
            await storage.park(conn, _wait(parked_instance, deadline=timedelta(minutes=3)))
        notice = await _next(notices)
        assert notice.kind is storage.NoticeKind.DEADLINE and notice.deadline == NOW + timedelta(minutes=3)


async def test_a_notice_of_another_kind_or_a_broken_one_is_passed_over(
    pg: storage.Database, parked_instance: str
) -> None:
    async with pg.notices() as notices:
        async with pg.begin() as conn:
            for payload in ("retired x", "", "deadline not-a-date", "due"):
                await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
            await tell(conn, storage.NoticeKind.CHANGED, parked_instance)
        assert await _next(notices) == storage.Notice(storage.NoticeKind.CHANGED, parked_instance)


async def test_a_listener_whose_connection_is_lost_says_so_as_the_database_unreachable(pg: storage.Database) -> None:
    async with pg.notices() as notices:
        async with pg.begin() as conn:
            ended = await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": storage.LISTENER_NAME},
            )
            assert ended.scalars().all() == [True]
        with pytest.raises(psycopg.OperationalError) as lost:
            await _next(notices)
    assert storage.unreachable(lost.value)

