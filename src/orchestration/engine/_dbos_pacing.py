"""DBOS's background polls that serve nothing we use: not run, or paced down.

DBOS polls its system database from several threads, whatever the application uses. On an idle
worker (2 cores) they were most of what the process spent (its queues are paced in `_queue_polls`):
- the background jobs (`dbos-background-jobs`): delayed workflows and workflow timeouts, neither
  of which the engine uses (no workflow is started with a delay or a timeout). Their thread took
  a lock and ran both every few seconds: it ends at once instead. On PostgreSQL that was a fifth
  of an idle worker's statements.
- the scheduler's look for new schedules, every second in the first minute after launch
  (every 30 s after): the engine has none; every 30 s from the start.
Neither is in `DBOSConfig`, so they are set here on names private to DBOS;
tests/engine/test_dbos_pacing.py fails if a release of DBOS moves them.
"""

from __future__ import annotations

import threading

import dbos._dbos as _dbos_launch
import dbos._scheduler as _dbos_scheduler
from dbos import DBOS


def pace_background_polls() -> None:
    """Before `DBOS.launch`: no background jobs, and the scheduler's pace."""
    _dbos_launch.background_jobs_thread = _no_background_jobs  # type: ignore[attr-defined]
    _dbos_scheduler._STARTUP_FAST_POLL_DURATION_SEC = 0.0


def _no_background_jobs(stop_event: threading.Event, dbos: DBOS) -> None:
    """In place of DBOS's background jobs, which the engine does not use: ends at once."""
