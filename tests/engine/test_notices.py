"""On PostgreSQL a worker hears what other processes changed (an event sent, a deadline parked) from
the database's notices, without polling for it; when its listening connection is lost, it listens
again. Each engine here looks for due waits only every half hour (`QUIET`), so only a notice can
wake an instance within the test's bound."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from orchestration import storage
from orchestration.engine import _listener
from orchestration.storage._notices import tell
from orchestration.storage._tables import instance_waits
from tests.testing.engine import EngineHarness, fast_settings
from tests.testing.postgres import PostgresServer
from tests.testing.waiting import assert_eventually

QUIET: dict[str, Any] = {
    "look_ahead_interval": timedelta(minutes=30),
    "timer_horizon": timedelta(hours=1),
    "signal_poll_interval": timedelta(milliseconds=200),  # only while not listening
}


@pytest.fixture
async def engine_on_postgres(
    postgres: PostgresServer, migrated_template: str, tmp_path: Path
) -> AsyncIterator[EngineHarness]:
    uri = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
    harness = EngineHarness(fast_settings(tmp_path / "data", postgres_uri=uri, **QUIET))
    await harness.start()
    yield harness
    await harness.stop()


async def _listener_pids(db: storage.Database) -> list[int]:
    query = sa.text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = :name"
    )
    async with db.read() as conn:
        return list((await conn.execute(query, {"name": storage.LISTENER_NAME})).scalars())


async def _listening(engine: EngineHarness, *, not_pid: int | None = None) -> int:
    """Once the engine listens (on a connection other than `not_pid`'s): its backend's pid."""
    pids = await assert_eventually(
        lambda: _listener_pids(engine.db), lambda pids: set(pids) - {not_pid}, what="the worker to listen"
    )
    return next(pid for pid in pids if pid != not_pid)


async def _send_from_another_process(engine: EngineHarness, instance_id: str, name: str) -> None:
    """What the API of another process writes for an event (its own pool, its own transaction)."""
    async with engine.database() as other, other.begin() as conn:
        assert await storage.insert_event(conn, instance_id, name, datetime.now(UTC))


async def test_an_event_sent_through_another_process_wakes_its_parked_instance_at_once(
    engine_on_postgres: EngineHarness,
) -> None:
    engine = engine_on_postgres
    await _listening(engine)
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.parked(instance_id)
    await _send_from_another_process(engine, instance_id, "go")
    done = await engine.wait_terminated(instance_id, timeout=20)
    assert done.instance.error is None


async def test_a_deadline_parked_by_another_process_gets_this_workers_timer(engine_on_postgres: EngineHarness) -> None:
    engine = engine_on_postgres
    await _listening(engine)
    instance_id = await engine.run([{"delay": {"duration": "1h"}}, {"noop": {}}])
    await engine.parked(instance_id)
    # As another worker would have parked it: its deadline is written, and told, by that process.
    soon = datetime.now(UTC) + timedelta(seconds=1)
    async with engine.database() as other, other.begin() as conn:
        parked = sa.update(instance_waits).where(instance_waits.c.instance_id == instance_id)
        await conn.execute(parked.values(wake_at=soon, due_at=soon))
        await tell(conn, storage.NoticeKind.DEADLINE, soon.isoformat())
    done = await engine.wait_terminated(instance_id, timeout=20)
    assert done.instance.error is None


async def test_a_lost_listening_connection_is_opened_again_and_heard_from(engine_on_postgres: EngineHarness) -> None:
    engine = engine_on_postgres
    first = await _listening(engine)
    async with engine.db.begin() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    await _listening(engine, not_pid=first)
    instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.parked(instance_id)
    await _send_from_another_process(engine, instance_id, "go")
    assert (await engine.wait_terminated(instance_id, timeout=20)).instance.error is None


async def test_a_stopped_worker_leaves_no_listening_connection(engine_on_postgres: EngineHarness) -> None:
    engine = engine_on_postgres
    await _listening(engine)
    await engine.stop()
    async with engine.database() as other:  # its backend ends a moment after the connection's close
        await assert_eventually(lambda: _listener_pids(other), lambda pids: pids == [], what="no listener left")


async def test_where_notices_do_not_come_through_the_worker_says_so_and_polls(
    postgres: PostgresServer, migrated_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As behind a pooler in transaction mode: LISTEN passes, no notice comes (here: its probe is not sent).
    async def dropped(conn: storage.Connection, kind: storage.NoticeKind, subject: str) -> None:
        if kind is not storage.NoticeKind.PROBE:
            await tell(conn, kind, subject)

    monkeypatch.setattr(storage, "tell", dropped)
    monkeypatch.setattr(_listener, "_PROBE_TIMEOUT", timedelta(milliseconds=300))
    uri = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}", template=migrated_template)
    async with EngineHarness.running(tmp_path / "data", postgres_uri=uri, **QUIET) as engine:
        await assert_eventually(
            lambda: caplog.text, lambda text: "do not come through" in text, what="the worker to say so"
        )
        assert engine.engine._waker.poll_interval == QUIET["signal_poll_interval"]
        instance_id = await engine.run([{"wait_event": {"event": "go"}}, {"noop": {}}])
        await engine.parked(instance_id)
        await _send_from_another_process(engine, instance_id, "go")
        assert (await engine.wait_terminated(instance_id, timeout=20)).instance.error is None
