"""DBOS's queue polls, paced by the engine and hurried by what it hears.

DBOS runs a thread per queue that polls the system database for workflows to start, and a
manager thread that reads the queues table every second to start those threads. Idle on
PostgreSQL, the polls and that read were about half of what a worker spent: each costs
several statements, whether or not anything was queued.

The engine uses two queues, both known before launch: DBOS's internal queue, where recovery at
launch puts back the workflows a crash interrupted, and the instance queue, where a takeover puts
back a silent worker's instances (and API-only servers of releases before 0.6.0 put theirs). So
the manager here starts a worker for each, and reads no table. Each worker waits between polls on a
`QueuePace` instead of DBOS's stop event, and polls:
- at once when hurried: once recovery has put back what it found, when a takeover is told, when a
  workflow that held a slot under `--max-parallel-instances` is done (what the queue holds beyond
  the limit waits for one); and once more a floor later, for what that poll could not take (a
  database that did not answer, a workflow DBOS still counted);
- otherwise every `interval`, set by the engine: `--look-ahead-interval` while the notices of other
  processes are heard (a takeover is told), every `QUEUE_POLL_FLOOR` while they are not;
- never twice within `QUEUE_POLL_FLOOR`: hurries within it make one poll.
The names of DBOS replaced here are private, and stay replaced for the life of the process (each
engine sets its own before its launch): tests/engine/test_dbos_pacing.py fails if a release of DBOS
moves them.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import dbos._dbos as _dbos_launch
import dbos._queue as _dbos_queue
import dbos._recovery as _dbos_recovery
from dbos import DBOS

QUEUE_POLL_FLOOR = timedelta(seconds=2)
# How long the manager waits for each worker to end its poll when DBOS stops (DBOS's own wait).
_JOIN_TIMEOUT_S = 10.0
# How often the manager looks for a worker that died (DBOS's catches what a poll raises; in case).
_WATCH_EVERY_S = 10.0

log = logging.getLogger(__name__)


class QueuePace:
    """When the worker of one queue polls. It stands for DBOS's stop event in the worker's loop,
    which waits on it between two polls and ends once it is set."""

    def __init__(self, interval: timedelta, *, floor: timedelta = QUEUE_POLL_FLOOR) -> None:
        self._floor_s = floor.total_seconds()
        self._interval_s = max(interval.total_seconds(), self._floor_s)
        self._lock = threading.Lock()
        self._changed = threading.Event()  # wakes the wait to look again
        self._stopped = threading.Event()
        self._last_poll = 0.0
        # A poll asked for by then (monotonic): a first at launch, for what was queued while no worker ran.
        self._asked: float | None = 0.0
        self._follow_up = False  # the asked poll is a hurry's: once it is made, another a floor later

    def poll_every(self, interval: timedelta) -> None:
        """Poll every `interval` (at least the floor) from now on."""
        self._interval_s = max(interval.total_seconds(), self._floor_s)
        self._changed.set()

    def hurry(self) -> None:
        """Poll as soon as the floor allows, and once more a floor later (from any thread)."""
        now = time.monotonic()
        with self._lock:
            self._asked = now if self._asked is None else min(self._asked, now)
            self._follow_up = True
        self._changed.set()

    def stop(self) -> None:
        self._stopped.set()
        self._changed.set()

    def due(self) -> float:
        """When the next poll is due (monotonic)."""
        with self._lock:
            asked = self._asked
        due = self._last_poll + self._interval_s if asked is None else min(self._last_poll + self._interval_s, asked)
        return max(due, self._last_poll + self._floor_s)

    # What DBOS's worker loop calls on its stop event.
    def is_set(self) -> bool:
        return self._stopped.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the next poll is due (DBOS's `timeout`, its own pace, is not ours); True once stopped."""
        while not self._stopped.is_set():
            # Cleared before the look: whatever changes after it wakes the wait below at once.
            self._changed.clear()
            now = time.monotonic()
            due = self.due()
            if due <= now:
                with self._lock:
                    if self._asked is not None and self._asked <= now:  # this poll is the one asked for
                        self._asked = now + self._floor_s if self._follow_up else None
                        self._follow_up = False
                self._last_poll = now
                return False
            self._changed.wait(due - now)
        return True


def instance_queue(name: str, worker_concurrency: int | None) -> Any:
    """A queue in this process's memory only, none of its settings in the database: each worker
    takes from it no more than its own bound."""
    return _dbos_queue.Queue(
        name, worker_concurrency=worker_concurrency, token=_dbos_queue._INTERNAL_QUEUE_CONSTRUCTION
    )


def poll_queues(dbos: DBOS, *, internal: QueuePace, others: Sequence[tuple[Any, QueuePace]] = ()) -> None:
    """Before `DBOS.launch`: `dbos` polls its internal queue at `internal`'s pace, and each of
    `others` at its own, and reads no queues table."""
    queues = [(dbos._registry.get_internal_queue(), internal), *others]
    _dbos_launch.queue_thread = functools.partial(_manage, queues)  # type: ignore[attr-defined]
    _dbos_launch.startup_recovery_thread = functools.partial(_recover, internal)  # type: ignore[attr-defined]


def _manage(queues: Sequence[tuple[Any, QueuePace]], stop_event: threading.Event, dbos: DBOS) -> None:
    """In place of DBOS's manager: a worker per queue (started again should one die), until DBOS stops."""
    workers: dict[str, threading.Thread] = {}
    while not stop_event.is_set():
        for queue, pace in queues:
            worker = workers.get(queue.name)
            if worker is not None and worker.is_alive():
                continue
            if worker is not None:
                log.warning("the worker of queue %s stopped; starting it again", queue.name)
            workers[queue.name] = worker = threading.Thread(
                target=_dbos_queue.queue_worker_thread, args=(pace, dbos, queue),
                name=f"queue-worker-{queue.name}", daemon=True,
            )
            worker.start()
        stop_event.wait(_WATCH_EVERY_S)
    for _, pace in queues:
        pace.stop()
    for worker in workers.values():
        worker.join(_JOIN_TIMEOUT_S)


def _recover(internal: QueuePace, dbos: DBOS, pending: Any) -> None:
    """DBOS's recovery at launch, then a poll of the internal queue, where it put what it found."""
    try:
        _dbos_recovery.startup_recovery_thread(dbos, pending)
    except Exception:  # run in an executor whose future nobody reads: said here
        log.exception("recovering this worker's interrupted workflows failed")
    finally:
        internal.hurry()
