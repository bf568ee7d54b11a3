"""Wakes parked instances: ends in place, or starts the continuation of, each one whose wait is over.

An instance in a long `delay` or `wait_event` is parked: its workflow ends, and a
row says what it waits for and, once known, when it is due (a delay's deadline; the
time its event came, written in the event's transaction). No coroutine, no timer and
no memory per parked instance, whatever the number waiting and however long.

One loop per process does all the waking. It is woken by a notice (an event sent or
an abort through this process, or, on PostgreSQL, through another), by one timer set
for the earliest deadline, and every `poll_interval` (the look-ahead for deadlines; where
other processes share the database and their notices cannot be heard, what they changed
is found that way). Each round reads what is due from an index, oldest first, in
bounded batches; it ends those with nothing left to run a batch per transaction, and
starts the continuations of the others with a bounded number running at once:
a catch-up after a long stop, or a million deadlines at one instant, is paced and
leaves room for new work. Starting a continuation is idempotent (its workflow id is
derived from the instance and the stage), so two wakers, or one waking twice, run it
once.

The rounds of the timer and of the look-ahead then read the next deadline, to set the timer
for it. A round woken by a notice does not: each deadline within the horizon was given to
`remind` as it was parked (here, or by a notice from the process that parked it), and the
others are the look-ahead's; under a burst of events, that read was one of each round's three
transactions.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestration import storage
from orchestration.waiting import stop_if_cancelled, wait_at_most

log = logging.getLogger(__name__)

# Parked instances read per query: a backlog is read in bounded bites.
_BATCH = 200
# Continuations started by the waker and running at once in this process. One holds its
# place until it ends, or for `_HOLD` at most: one that waits in memory (a retry's
# backoff) must not hold the others back.
_RUNNING = 32
_HOLD = timedelta(seconds=1)

# Waits ended in one transaction, at most: a burst of wakes takes SQLite's one write lock
# in turns short enough for the API's writes to go in between.
_ENDS_PER_TRANSACTION = 50
# A bite the database could not take, a continuation that could not start, or a round that
# failed, is tried again this soon.
_RETRY_AFTER = timedelta(seconds=1)

# Starts one continuation; returns a future done when it ends where it runs here (None:
# it runs elsewhere, or ran already).
Resume = Callable[[storage.DueWaitRow], Awaitable["asyncio.Future[Any] | None"]]
# Ends, in one transaction, those of the waits that need no continuation; returns the
# (instance, stage) of those it dealt with.
EndInPlace = Callable[[list[storage.DueWaitRow]], Awaitable[set[tuple[str, int]]]]


async def _none_in_place(_: list[storage.DueWaitRow]) -> set[tuple[str, int]]:
    return set()


def _now() -> datetime:
    return datetime.now(UTC)


class Waker:
    def __init__(
        self,
        db: storage.Database,
        resume: Resume,
        *,
        end_in_place: EndInPlace = _none_in_place,
        timer_horizon: timedelta,
        poll_interval: timedelta,
        running: int = _RUNNING,
        hold: timedelta = _HOLD,
    ) -> None:
        self._db = db
        self._resume = resume
        self._end_in_place = end_in_place
        # A deadline further than this gets no timer yet: a later round sets it (the
        # event loop's clock and the wall clock may drift apart over hours).
        self._timer_horizon = timer_horizon
        self._poll_interval = poll_interval
        self._slots = asyncio.Semaphore(running)
        self._hold = hold
        self._due = asyncio.Event()
        # The next round looks for the next deadline too (not a notice's round: see above).
        self._look_ahead = True
        self._timer: asyncio.TimerHandle | None = None
        self.timer_at: datetime | None = None  # the deadline the timer is set for
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the waking loop (the first round at once: what came due while no worker ran)."""
        # In a context of its own, like the timer's callbacks (`remind` is called from steps): a
        # continuation must not start as a child of whatever workflow is current where it was
        # asked for (DBOS keeps the current workflow in a contextvar).
        self._look_again()
        self._loop_task = asyncio.get_running_loop().create_task(
            self._run(), name="waker", context=contextvars.Context()
        )

    @property
    def stopped(self) -> bool:
        """The waking loop was started and has ended (it only ends on a bug or a close)."""
        return self._loop_task is not None and self._loop_task.done()

    @property
    def poll_interval(self) -> timedelta:
        return self._poll_interval

    def poll_every(self, interval: timedelta) -> None:
        """Look on its own every `interval` from now on. A change takes effect at once, with a round:
        what changed while the old interval ran is looked at."""
        if interval != self._poll_interval:
            self._poll_interval = interval
            self._look_again()

    def wake_soon(self) -> None:
        """Look for due waits now: something may have come due."""
        self._due.set()

    def _look_again(self) -> None:
        """A round now that also looks for the next deadline."""
        self._look_ahead = True
        self._due.set()

    def remind(self, deadline: datetime) -> None:
        """A wait is due at `deadline`: look then, if it is the earliest known and near."""
        delay = (deadline - _now()).total_seconds()
        if delay >= self._timer_horizon.total_seconds():
            return
        if self.timer_at is not None and self.timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self.timer_at = deadline
        self._timer = asyncio.get_running_loop().call_later(
            max(delay, 0.0), self._on_timer, deadline, context=contextvars.Context()
        )

    def _on_timer(self, deadline: datetime) -> None:
        self._timer, self.timer_at = None, None
        if _now() < deadline:  # the event loop's clock ran ahead of the wall clock
            self.remind(deadline)
        else:
            self._look_again()

    async def _run(self) -> None:
        while True:
            polled = not await wait_at_most(self._due, self._poll_interval.total_seconds())
            look_ahead, self._look_ahead = self._look_ahead or polled, False
            self._due.clear()
            try:
                # A wait that comes due while the round runs gets its timer (already passed: at
                # once) from the next deadline after the round's own time.
                now = _now()
                await self.wake_due(now)
                if look_ahead:
                    async with self._db.read() as conn:
                        deadline = await storage.next_deadline(conn, after=now)
                    if deadline is not None:
                        self.remind(deadline)
            except Exception as exc:  # the database may be briefly unreachable: tried again in a moment
                stop_if_cancelled()
                storage.log_failure(log, "waking parked instances failed", exc)
                self._retry_soon()

    async def wake_due(self, now: datetime | None = None) -> int:
        """End in place, or start the continuation of, every parked instance whose wait was over at
        `now` (default: now); the number dealt with. One that cannot be is passed over until the
        next round."""
        now = now or _now()
        total = 0
        after: storage.DueWaitRow | None = None
        while True:
            async with self._db.read() as conn:
                due = await storage.due_waits(conn, now=now, limit=_BATCH, after=after)
            ended, passed_over = await self._end_where_nothing_runs(due)
            dealt_with = ended | passed_over
            started = [wait for wait in due if _key(wait) not in dealt_with and await self._start(wait)]
            if started:
                # After the starts: a crash in between starts them again, which is harmless.
                async with self._db.begin() as conn:
                    await storage.mark_woken(conn, [_key(w) for w in started], now=_now())
            total += len(ended) + len(started)
            if len(due) < _BATCH:
                return total
            after = due[-1]

    async def _end_where_nothing_runs(
        self, due: list[storage.DueWaitRow]
    ) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
        """End in place, a transaction per bite, the instances with nothing to run after their wait.
        Returns (those dealt with, those of bites the database could not take: passed over, and
        looked at again in a moment, not at the next poll)."""
        ended: set[tuple[str, int]] = set()
        passed_over: set[tuple[str, int]] = set()
        for first in range(0, len(due), _ENDS_PER_TRANSACTION):
            bite = due[first : first + _ENDS_PER_TRANSACTION]
            try:
                ended |= await self._end_in_place(bite)
            except Exception as exc:  # only the database's "not now": anything else falls back in `_end_in_place`
                stop_if_cancelled()
                storage.log_failure(log, f"waking {len(bite)} instances in place failed", exc)
                passed_over |= {_key(wait) for wait in bite}
        if passed_over:
            self._retry_soon()
        return ended, passed_over

    def _retry_soon(self) -> None:
        """Look again in a moment, not at the next poll (a look-ahead may be a minute away)."""
        asyncio.get_running_loop().call_later(_RETRY_AFTER.total_seconds(), self._look_again)

    async def _start(self, wait: storage.DueWaitRow) -> bool:
        """Start one continuation when a slot is free; False if it could not start."""
        await self._slots.acquire()
        try:
            ended = await self._resume(wait)
        except Exception:  # logged, and tried again in a moment; the others go on
            self._slots.release()
            stop_if_cancelled()
            log.exception("starting the continuation of instance %s failed", wait.instance_id)
            self._retry_soon()
            return False
        if ended is None:
            self._slots.release()
        else:
            release = _ReleaseOnce(self._slots)
            ended.add_done_callback(release)
            asyncio.get_running_loop().call_later(self._hold.total_seconds(), release)
        return True

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)


def _key(wait: storage.DueWaitRow) -> tuple[str, int]:
    return wait.instance_id, wait.stage


class _ReleaseOnce:
    """Releases its semaphore at the first call, whichever comes first."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots: asyncio.Semaphore | None = slots

    def __call__(self, *_: object) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None
