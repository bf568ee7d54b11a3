"""DBOS's background polls run at the engine's pace: the names it sets are the ones DBOS reads."""

from __future__ import annotations

import functools
import inspect
import threading

import dbos._dbos
import dbos._queue
import dbos._scheduler
import dbos._sys_db_postgres
import dbos._workflow_commands
from dbos._dbos import _get_dbos_instance

from orchestration.engine import _dbos_pacing, _queue_polls
from tests.testing.engine import EngineHarness


def test_dbos_reads_the_paces_from_the_names_the_engine_sets() -> None:
    # Were either renamed by a release of DBOS, its poll would silently be each second again.
    jobs = inspect.getsource(dbos._workflow_commands.background_jobs_thread)
    assert "_BACKGROUND_JOBS_INTERVAL_SEC" in jobs
    launch = inspect.getsource(dbos._dbos.DBOS._launch)
    # The manager of the queues, and recovery, as launch starts them: replaced in `_queue_polls`.
    assert "target=queue_thread, args=(evt, self)" in launch
    assert "submit(startup_recovery_thread, self, workflow_ids)" in launch
    # A worker waits on its stop event between polls: `QueuePace` stands for it.
    worker = inspect.getsource(dbos._queue.queue_worker_thread)
    assert "stop_event.wait(timeout=" in worker and "stop_event.is_set()" in worker
    assert dbos._queue._INTERNAL_QUEUE_CONSTRUCTION is not None
    scheduler = inspect.getsource(dbos._scheduler.dynamic_scheduler_loop)
    assert "_STARTUP_FAST_POLL_DURATION_SEC" in scheduler


def test_the_background_jobs_interval_is_shorter_than_their_locks_idle_timeout() -> None:
    # Its holder waits out the interval in the lock's transaction: a longer interval than the
    # idle timeout DBOS sets there would end that session every round.
    assert _dbos_pacing.BACKGROUND_JOBS_INTERVAL_S * 1000 < dbos._sys_db_postgres.BACKGROUND_JOB_LOCK_IDLE_TIMEOUT_MS


async def test_a_launched_engine_polls_at_its_own_pace(engine: EngineHarness) -> None:
    _get_dbos_instance()
    assert isinstance(dbos._dbos.queue_thread, functools.partial)
    assert dbos._dbos.queue_thread.func is _queue_polls._manage
    workers = {thread.name for thread in threading.enumerate() if thread.name.startswith("queue-worker-")}
    expected = {"queue-worker-_dbos_internal_queue"}
    if not engine.settings.storage.embedded:  # takeovers queue there
        expected.add("queue-worker-orchestration-instances")
    assert workers == expected
    assert dbos._workflow_commands._BACKGROUND_JOBS_INTERVAL_SEC == _dbos_pacing.BACKGROUND_JOBS_INTERVAL_S
    assert dbos._scheduler._STARTUP_FAST_POLL_DURATION_SEC == 0
