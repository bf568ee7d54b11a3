"""DBOS's engine on its embedded SQLite file, set as our own database is: its checkpoints do not
wait for the disk, its connections are not pinged, and its write transactions still take the
write lock at BEGIN (DBOS's own hook on each connection)."""

from __future__ import annotations

from pathlib import Path

import dbos._dbos as dbos_internals
import sqlalchemy as sa

from tests.testing.engine import EngineHarness

NORMAL = 1  # PRAGMA synchronous's value for NORMAL (FULL, sqlite3's default, is 2)


async def test_the_engines_checkpoints_do_not_wait_for_the_disk(tmp_path: Path) -> None:
    async with EngineHarness.running(tmp_path / "d") as engine:
        instance_id = await engine.run([{"delay": {"duration": "10ms"}}])  # a workflow: checkpoints
        await engine.wait_workflow(instance_id, "SUCCESS")
        dbos = dbos_internals._dbos_global_instance
        assert dbos is not None
        system_engine: sa.Engine = dbos._sys_db.engine
        assert not system_engine.pool._pre_ping
        with system_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            driver = conn.connection.dbapi_connection
            assert driver is not None and getattr(driver, "isolation_level", None) == "IMMEDIATE"
            assert str(tmp_path / "d" / "engine.sqlite") in conn.exec_driver_sql("PRAGMA database_list").all()[0][2]
