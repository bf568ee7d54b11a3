"""Notices between processes on PostgreSQL: what a committed transaction changed is told to every
listener, once it commits and only then; a lost listening connection says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.storage._notices import CHANNEL, tell
from orchestration.storage._tables import instance_waits
from tests.storage.conftest import NOW, running_instance

TIMEOUT = 10.0
LOOK_AHEAD = timedelta(minutes=1)


class _Rollback(Exception):
    pass


@pytest.fixture
async def parked_instance(pg: storage.Database) -> str:
    return await running_instance(pg)


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
        async with pg.begin() as conn:
            await storage.park(conn, _wait(parked_instance, event="go"), tell_within=LOOK_AHEAD)
        with pytest.raises(_Rollback):
            async with pg.begin() as conn:
                assert await storage.insert_event(conn, parked_instance, "go", NOW)
                raise _Rollback
        # An event no parked wait waits for says nothing (a wait in memory elsewhere polls for it):
        # the next notice heard is a probe told after it.
        async with pg.begin() as conn:
            assert not await storage.insert_event(conn, parked_instance, "other", NOW)
        async with pg.begin() as conn:
            await storage.tell(conn, storage.NoticeKind.PROBE, "after-other")
        assert await _next(notices) == storage.Notice(storage.NoticeKind.PROBE, "after-other")
        # The event of the parked wait makes it due.
        async with pg.begin() as conn:
            assert await storage.insert_event(conn, parked_instance, "go", NOW)
        assert await _next(notices) == storage.Notice(storage.NoticeKind.DUE, parked_instance)

        async with pg.begin() as conn:
            assert await storage.cancel_instance(conn, parked_instance, now=NOW)
        assert await _next(notices) == storage.Notice(storage.NoticeKind.ABORTED, parked_instance)


async def test_a_deadline_parked_is_told_with_its_instant_when_the_others_would_not_see_it_in_time(
    pg: storage.Database, parked_instance: str
) -> None:
    async with pg.notices() as notices:
        async with pg.begin() as conn:
            # Beyond the look-ahead: the others' next look finds it in time; nothing said.
            await storage.park(conn, _wait(parked_instance, deadline=LOOK_AHEAD), tell_within=LOOK_AHEAD)
        async with pg.begin() as conn:
            await conn.execute(sa.delete(instance_waits))
            await storage.park(conn, _wait(parked_instance, deadline=LOOK_AHEAD / 2), tell_within=LOOK_AHEAD)
        notice = await _next(notices)
        assert notice.kind is storage.NoticeKind.DEADLINE and notice.deadline == NOW + LOOK_AHEAD / 2


async def test_a_notice_of_another_kind_or_a_broken_one_is_passed_over(
    pg: storage.Database, parked_instance: str
) -> None:
    async with pg.notices() as notices:
        async with pg.begin() as conn:
            for payload in ("retired x", "", "deadline not-a-date", "due"):
                await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
            await tell(conn, storage.NoticeKind.PROBE, "token")
        assert await _next(notices) == storage.Notice(storage.NoticeKind.PROBE, "token")


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
    # Nothing of the lost connection is left in the event loop: the next one opens and hears
    # (it may get the same socket number).
    async with pg.notices() as notices:
        async with pg.begin() as conn:
            await tell(conn, storage.NoticeKind.PROBE, "again")
        assert await _next(notices) == storage.Notice(storage.NoticeKind.PROBE, "again")

