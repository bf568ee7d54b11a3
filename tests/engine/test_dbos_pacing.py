"""DBOS's background polls run at the engine's pace: the names it sets are the ones DBOS reads."""

from __future__ import annotations

import inspect

import dbos._queue
import dbos._scheduler
import dbos._sys_db_postgres
import dbos._workflow_commands
from dbos._dbos import _get_dbos_instance

from orchestration.engine import _dbos_pacing
from tests.testing.engine import EngineHarness


def test_dbos_reads_the_paces_from_the_names_the_engine_sets() -> None:
    # Were either renamed by a release of DBOS, its poll would silently be each second again.
    jobs = inspect.getsource(dbos._workflow_commands.background_jobs_thread)
    assert "_BACKGROUND_JOBS_INTERVAL_SEC" in jobs
    worker = inspect.getsource(dbos._queue.queue_worker_thread)
    assert "queue._polling_interval_sec" in worker
    manager = inspect.getsource(dbos._queue.queue_thread)
    assert "get_internal_queue()" in manager
    scheduler = inspect.getsource(dbos._scheduler.dynamic_scheduler_loop)
    assert "_STARTUP_FAST_POLL_DURATION_SEC" in scheduler


def test_the_background_jobs_interval_is_shorter_than_their_locks_idle_timeout() -> None:
    # Its holder waits out the interval in the lock's transaction: a longer interval than the
    # idle timeout DBOS sets there would end that session every round.
    assert _dbos_pacing.BACKGROUND_JOBS_INTERVAL_S * 1000 < dbos._sys_db_postgres.BACKGROUND_JOB_LOCK_IDLE_TIMEOUT_MS


async def test_a_launched_engine_polls_at_its_own_pace(engine: EngineHarness) -> None:
    launched = _get_dbos_instance()
    assert launched._registry.get_internal_queue()._polling_interval_sec == _dbos_pacing.INTERNAL_QUEUE_POLL_S
    assert dbos._workflow_commands._BACKGROUND_JOBS_INTERVAL_SEC == _dbos_pacing.BACKGROUND_JOBS_INTERVAL_S
    assert dbos._scheduler._STARTUP_FAST_POLL_DURATION_SEC == 0
