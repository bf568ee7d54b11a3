"""On PostgreSQL, `--postgres-max-open-conns` bounds both of a process's pools: ours, and the
engine's for its checkpoints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dbos._dbos as dbos_internals

from tests.testing.engine import EngineHarness, fast_settings


async def test_both_pools_of_a_process_open_at_most_the_setting(tmp_path: Path, shared_uri: str) -> None:
    settings = fast_settings(tmp_path, postgres_uri=shared_uri)
    harness = EngineHarness(replace(settings, storage=replace(settings.storage, postgres_max_open_conns=4)))
    await harness.start()
    try:
        dbos = dbos_internals._dbos_global_instance
        assert dbos is not None
        for pool in (harness.db._postgres.pool, dbos._sys_db.engine.pool):  # type: ignore[union-attr]
            assert (pool.size(), pool._max_overflow) == (4, 0)  # type: ignore[attr-defined]
    finally:
        await harness.stop()
