"""DBOS's background polls that serve nothing we use, paced down.

DBOS polls its system database each second from several threads, whatever the
application uses. On an idle embedded server (2 cores) these took 0.7-0.8 % of a core,
most of what the process spent (its queues are paced in `_queue_polls`):
- the background jobs (`dbos-background-jobs`): delayed workflows and workflow
  timeouts, neither of which the engine uses; every 4 s instead of every second. Not
  longer: on PostgreSQL the holder of their lock keeps its transaction open for the
  interval, and DBOS has PostgreSQL end a session idle in a transaction after 5 s.
- the scheduler's look for new schedules, every second in the first minute after launch
  (every 30 s after): the engine has none; every 30 s from the start.
Neither pace is in `DBOSConfig`, so they are set here on names private to DBOS;
tests/engine/test_dbos_pacing.py fails if a release of DBOS moves them.
"""

from __future__ import annotations

import dbos._scheduler as _dbos_scheduler
import dbos._workflow_commands as _dbos_jobs

BACKGROUND_JOBS_INTERVAL_S = 4.0


def pace_background_polls() -> None:
    """Before `DBOS.launch`: the paces of the background jobs and the scheduler."""
    _dbos_jobs._BACKGROUND_JOBS_INTERVAL_SEC = BACKGROUND_JOBS_INTERVAL_S
    _dbos_scheduler._STARTUP_FAST_POLL_DURATION_SEC = 0.0
