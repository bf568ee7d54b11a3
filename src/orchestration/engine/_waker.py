"""Wakes parked instances: starts the continuation of each one whose wait is over.

An instance in a long `delay` or `wait_event` is parked: its workflow ends, and a
row says what it waits for. No coroutine, no memory and nothing for the engine to
recover after a restart, whatever the number waiting and however long. The waker
looks for parked instances whose deadline has passed or whose event has come:
for one instance when something happens to it in this process (an event sent,
a deadline coming, on a timer), and for all of them at every poll where other
processes share the database. Starting a continuation is idempotent (its
workflow id is derived from the instance and the stage), so two wakers, or one
waking twice, run it once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from orchestration import storage

log = logging.getLogger(__name__)

# Parked instances read per query: a backlog (a restart after a long stop) is read
# in bounded bites.
_BATCH = 500

Resume = Callable[[storage.DueWaitRow], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


class Waker:
    def __init__(self, db: storage.Database, resume: Resume, *, timer_horizon: timedelta) -> None:
        self._db = db
        self._resume = resume
        # Deadlines closer than this get a timer in this process, for punctuality; later
        # ones get theirs from a look-ahead, or are found by the poll (a timer for each
        # wait of months would be memory for months).
        self._timer_horizon = timer_horizon
        self._tasks: set[asyncio.Task[int]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closed = False

    def check_soon(self, instance_id: str) -> None:
        """Look at one instance now: something just happened to it."""
        if self._closed:
            return
        # In a context of its own: called from a step, it must not start the continuation
        # as a child of the workflow that parks (DBOS keeps the current workflow in a contextvar).
        task = asyncio.get_running_loop().create_task(self._wake_logged(instance_id), context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def remind(self, instance_id: str, deadline: datetime) -> None:
        """Look at `instance_id` again at its deadline, if it is near."""
        delay = (deadline - _now()).total_seconds()
        if self._closed or delay >= self._timer_horizon.total_seconds():
            return
        previous = self._timers.pop(instance_id, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self._timers[instance_id] = loop.call_later(
            max(delay, 0.0), self._on_deadline, instance_id, deadline, context=contextvars.Context()
        )

    def _on_deadline(self, instance_id: str, deadline: datetime) -> None:
        self._timers.pop(instance_id, None)
        if _now() < deadline:  # the event loop's clock ran ahead of the wall clock
            self.remind(instance_id, deadline)
        else:
            self.check_soon(instance_id)

    async def look_ahead(self) -> None:
        """Wake every parked instance whose wait is over, and set timers for the deadlines
        of the next minutes. Where this process alone parks instances and hears of their
        events and aborts (embedded), this every `look_ahead_interval` and its own notices
        are all the waking there is: no poll."""
        while await self.wake_due() == _BATCH:
            pass
        async with self._db.read() as conn:
            upcoming = await storage.upcoming_deadlines(conn, until=_now() + self._timer_horizon)
        for instance_id, deadline in upcoming:
            if instance_id not in self._timers:
                self.remind(instance_id, deadline)

    async def wake_due(self, instance_id: str | None = None) -> int:
        """Start the continuation of every parked instance (or only `instance_id`) whose
        wait is over; the number started."""
        async with self._db.read() as conn:
            due = await storage.due_waits(conn, now=_now(), limit=_BATCH, instance_id=instance_id)
        if not due:
            return 0
        started = []
        for wait in due:
            try:
                await self._resume(wait)
            except Exception:  # logged, and tried again at the next poll; the others go on
                log.exception("starting the continuation of instance %s failed", wait.instance_id)
                continue
            started.append(wait)
        # A wait for an event is marked woken by its continuation, in the transaction that
        # takes the event; a delay's here, after the starts (a crash in between starts
        # them again, which is harmless).
        delays = [wait for wait in started if wait.event is None]
        if delays:
            async with self._db.begin() as conn:
                for wait in delays:
                    await storage.mark_woken(conn, wait.instance_id, wait.stage, now=_now())
        return len(started)

    async def _wake_logged(self, instance_id: str) -> int:
        try:
            return await self.wake_due(instance_id)
        except Exception:  # the poll will try again
            log.exception("waking instance %s failed", instance_id)
            return 0

    async def close(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
