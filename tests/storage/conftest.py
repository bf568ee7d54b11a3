"""Fixtures and helpers of the storage tests: an instance to work on, and a way to hold one
transaction open while another one runs into it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

from orchestration import storage
from tests.testing.postgres import PostgresServer
from tests.testing.waiting import assert_eventually

T = TypeVar("T")
NOW = datetime(2024, 5, 2, 10, 11, 12, 123456, tzinfo=UTC)


@pytest.fixture
async def pg(postgres: PostgresServer, migrated_template: str, tmp_path: Path) -> AsyncIterator[storage.Database]:
    """A database of its own on PostgreSQL, whatever the backend the test runs for."""
    uri = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
    database = storage.Database(storage.database_url(postgres_uri=uri, data_dir=tmp_path))
    yield database
    await database.dispose()


@pytest.fixture
async def instance_id(db: storage.Database) -> str:
    """A running instance of a fresh workflow."""
    return await running_instance(db)


async def running_instance(db: storage.Database) -> str:
    """Insert a fresh workflow and a running instance of it; the instance's id."""
    workflow_id, instance_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with db.begin() as conn:
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


async def _waiting_on_a_lock(db: storage.Database) -> int:
    """PostgreSQL: how many sessions of this database wait for a lock another one holds."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with db.read() as conn:
        return int((await conn.execute(query)).scalar_one())


@asynccontextmanager
async def held_open(
    db: storage.Database, first: Callable[[storage.Connection], Awaitable[T]]
) -> AsyncIterator[Callable[[], Awaitable[T]]]:
    """Run `first` in a transaction and keep it open for the block; awaiting what the block
    gets commits it and returns `first`'s result.

    Within the block, start the competing transaction: on PostgreSQL, `runs_into` waits
    until it is blocked by this one, so the two overlap for certain. (SQLite lets one
    writer in at a time: there the second simply waits for the commit.)
    """
    started, commit = asyncio.Event(), asyncio.Event()

    async def run() -> T:
        async with db.begin() as conn:
            result = await first(conn)
            started.set()
            await commit.wait()
        return result

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # `first` failed: say how

    async def finish() -> T:
        commit.set()
        return await task

    try:
        yield finish
    finally:
        commit.set()
        await asyncio.gather(task, return_exceptions=True)


async def runs_into(db: storage.Database, second: Awaitable[T]) -> asyncio.Task[T]:
    """Start `second` (a transaction competing with one `held_open`), once it is blocked by it."""
    task = asyncio.ensure_future(second)
    if not db.is_sqlite:
        await assert_eventually(
            lambda: _waiting_on_a_lock(db), lambda n: n >= 1 or task.done(), what="the second transaction to block"
        )
    return task
