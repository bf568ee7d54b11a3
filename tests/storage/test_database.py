"""The connection pool: on SQLite, statements run on the event loop's thread and writers take
turns in process, so an open write transaction holds up neither reads nor the loop."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestration import storage
from tests.storage.conftest import NOW, held_open, runs_into
from tests.testing.postgres import PostgresServer


def _workflow(workflow_id: str) -> storage.WorkflowRow:
    return storage.WorkflowRow(id=workflow_id, config={}, created_at=NOW, updated_at=NOW, deleted_at=None)


async def _read(db: storage.Database, workflow_id: str) -> storage.WorkflowRow | None:
    async with db.read() as conn:
        return await storage.get_workflow(conn, workflow_id)


async def _insert(db: storage.Database, workflow_id: str) -> None:
    async with db.begin() as conn:
        await storage.insert_workflow(conn, _workflow(workflow_id))


async def test_a_second_writer_waits_its_turn_while_reads_and_the_loop_go_on(db: storage.Database) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    async with held_open(db, lambda conn: storage.insert_workflow(conn, _workflow(first))) as commit:
        waiting = await runs_into(db, _insert(db, second))
        # The loop is free (this test runs on it), and a read answers from before the open write.
        assert await _read(db, first) is None
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 20
        if db.is_sqlite:  # one writer at a time: it waits for the first one's commit
            assert not waiting.done()
        await commit()
    await waiting
    assert await _read(db, first) is not None and await _read(db, second) is not None


async def test_a_failed_statement_raises_the_database_error_and_leaves_the_pool_usable(db: storage.Database) -> None:
    workflow_id = str(uuid.uuid4())
    await _insert(db, workflow_id)
    with pytest.raises(sa.exc.IntegrityError):
        await _insert(db, workflow_id)
    # Rolled back, turn given up: the next writer and reader go on.
    other = str(uuid.uuid4())
    await _insert(db, other)
    assert await _read(db, other) is not None


async def test_a_transaction_cancelled_midway_writes_nothing_and_gives_up_its_turn(db: storage.Database) -> None:
    workflow_id, started = str(uuid.uuid4()), asyncio.Event()

    async def stuck() -> None:
        async with db.begin() as conn:
            await storage.insert_workflow(conn, _workflow(workflow_id))
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await _read(db, workflow_id) is None
    other = str(uuid.uuid4())
    await asyncio.wait_for(_insert(db, other), timeout=30)
    assert await _read(db, other) is not None


async def test_the_health_check_ping_next_to_writes_holds_none_of_them_up(db: storage.Database) -> None:
    # A ping that took the write lock out of turn would leave the writer whose turn it was
    # waiting in SQLite's busy handler, on the loop's thread, for the ping to let go.
    for _ in range(20):
        await asyncio.wait_for(asyncio.gather(db.ping(), _insert(db, str(uuid.uuid4())), db.ping()), timeout=10)


async def test_more_transactions_open_at_once_than_the_pool_keeps_all_go_on(db: storage.Database) -> None:
    # On SQLite, taking a connection runs on the loop's thread: were the pool to make the next one
    # wait for a connection to come back, it would block the loop that gives them back.
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's pool is bounded: a transaction waits its turn for a connection, off the loop")
    workflow_id = str(uuid.uuid4())
    await _insert(db, workflow_id)
    held, all_open = 40, asyncio.Event()
    opened = 0

    async def reader() -> storage.WorkflowRow | None:
        nonlocal opened
        async with db.read() as conn:
            opened += 1
            if opened == held:
                all_open.set()
            await all_open.wait()
            return await storage.get_workflow(conn, workflow_id)

    rows = await asyncio.wait_for(asyncio.gather(*(reader() for _ in range(held))), timeout=30)
    assert [row.id if row else None for row in rows] == [workflow_id] * held
    await asyncio.wait_for(_insert(db, str(uuid.uuid4())), timeout=30)
    in_use, _ = db.pool_use()
    assert in_use == 0


async def test_postgresql_opens_at_most_its_bound_and_keeps_them_through_a_burst(
    postgres: PostgresServer, migrated_template: str, tmp_path: Path
) -> None:
    # Connections beyond a kept few, opened and closed for each transaction, made a burst of
    # requests cost more than their statements.
    uri = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
    db = storage.Database(storage.database_url(postgres_uri=uri, data_dir=tmp_path), max_connections=3)
    most_in_use = 0

    async def transaction() -> None:
        nonlocal most_in_use
        async with db.read() as conn:
            most_in_use = max(most_in_use, db.pool_use()[0])
            await conn.execute(sa.text("SELECT pg_sleep(0.01)"))

    async def backends() -> int:
        async with db.read() as conn:
            query = sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
            )
            return int((await conn.execute(query)).scalar_one())

    try:
        for _ in range(3):
            await asyncio.wait_for(asyncio.gather(*(transaction() for _ in range(12))), timeout=30)
            assert most_in_use == 3
            assert db.pool_use() == (0, 3)  # the three kept, none closed at its return
        assert await backends() == 3
    finally:
        await db.dispose()


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "just-used"])
async def test_postgresql_connections_dropped_by_a_restart(idle: bool, tmp_path: Path) -> None:
    # Idle in the pool longer than the bound: pinged, and replaced unseen. Just used: not pinged
    # (a ping per transaction cost a third of a short one); its next statement fails as an outage,
    # and the pool is renewed.
    with PostgresServer() as server:
        uri = server.uri()
        # (a restart takes a second or so: "just used" is a longer bound)
        bound_s = 0.2 if idle else 3600.0
        db = storage.Database(storage.database_url(postgres_uri=uri, data_dir=tmp_path), ping_after_idle_s=bound_s)
        try:
            await db.ping()
            server.pause("fast")  # a restart: every client is disconnected
            server.resume()
            if idle:
                await asyncio.sleep(0.3)  # the connection stays idle past the bound
                await db.ping()
            else:
                with pytest.raises(sa.exc.DBAPIError) as failed:
                    await db.ping()
                assert storage.unreachable(failed.value)
                await db.ping()
        finally:
            await db.dispose()


async def test_postgresql_reuses_the_connection_given_back_last_and_keeps_tcp_alive(
    postgres: PostgresServer, migrated_template: str, tmp_path: Path
) -> None:
    # Under load the same few connections serve, none idle long enough to need a ping; a host
    # that stops answering is found dead by keepalives, not the kernel's two hours.
    uri = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
    db = storage.Database(storage.database_url(postgres_uri=f"{uri}?keepalives_idle=7", data_dir=tmp_path))

    async def backend(held: asyncio.Barrier | None = None) -> tuple[int, dict[str, str]]:
        async with db.read() as conn:
            if held is not None:
                await held.wait()
            pid = int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())
            driver = (await conn.get_raw_connection()).driver_connection
            return pid, driver.info.get_parameters()

    try:
        held = asyncio.Barrier(3)
        opened = await asyncio.wait_for(asyncio.gather(*(backend(held) for _ in range(3))), timeout=30)
        assert len({pid for pid, _ in opened}) == 3
        (first, parameters), *others = [await backend() for _ in range(5)]
        assert [pid for pid, _ in others] == [first] * 4
        assert (parameters["keepalives"], parameters["keepalives_idle"]) == ("1", "7")  # the URI's own wins
    finally:
        await db.dispose()
