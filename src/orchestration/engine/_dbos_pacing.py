"""DBOS's background polls that serve nothing we use, paced down.

DBOS polls its system database each second from several threads, whatever the
application uses. On an idle embedded server (2 cores) these three took 0.7-0.8 % of
a core, most of what the process spent:
- the background jobs (`dbos-background-jobs`): delayed workflows and workflow
  timeouts, neither of which the engine uses; every 4 s instead of every second. Not
  longer: on PostgreSQL the holder of their lock keeps its transaction open for the
  interval, and DBOS has PostgreSQL end a session idle in a transaction after 5 s.
- the worker of DBOS's internal queue: only recovery at launch enqueues there (the
  workflows interrupted by a crash, resumed through it); every 2 s, which delays a
  recovered workflow's start by one second on average.
- the scheduler's look for new schedules, every second in the first minute after launch
  (every 30 s after): the engine has none; every 30 s from the start.
None of these paces is in `DBOSConfig`, so they are set here on names private to DBOS;
tests/engine/test_dbos_pacing.py fails if a release of DBOS moves them.
"""

from __future__ import annotations

import dbos._scheduler as _dbos_scheduler
import dbos._workflow_commands as _dbos_jobs
from dbos import DBOS

BACKGROUND_JOBS_INTERVAL_S = 4.0
INTERNAL_QUEUE_POLL_S = 2.0


def pace_background_polls(dbos: DBOS) -> None:
    """Before `DBOS.launch`: the paces of the background jobs, the scheduler and the internal queue."""
    _dbos_jobs._BACKGROUND_JOBS_INTERVAL_SEC = BACKGROUND_JOBS_INTERVAL_S
    _dbos_scheduler._STARTUP_FAST_POLL_DURATION_SEC = 0.0
    # The queue object outlives a DBOS instance in this process; its worker reads the pace at each poll.
    dbos._registry.get_internal_queue()._polling_interval_sec = INTERNAL_QUEUE_POLL_S
