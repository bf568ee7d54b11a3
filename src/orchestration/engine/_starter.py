"""Starts the instances that API-only servers run (`storage.request_start`), on PostgreSQL.

A notice says a request was made; each listening worker with room takes what it may, oldest
first, and starts it as a run request through it would (in place when it can): the instance's
latency is a notice's, not a queue poll's. A worker also looks on its own every poll interval
(what was asked while it did not hear), and again as soon as a slot frees when it found more
than it had room for. A request once taken is this worker's: a start that fails is tried again
in a moment, and should the worker die first, the one that takes over from it starts the
instance (it has no stage yet). A take whose commit was not confirmed (the connection lost) is
followed, once the database answers, by a look for instances that nothing accounts for any more.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from orchestration import storage
from orchestration.waiting import stop_if_cancelled, wait_at_most

from ._slots import InstanceSlots

log = logging.getLogger(__name__)

# Requests taken at once where the number of instances run at once has no limit.
_BATCH = 100
# A start that failed, or a round the database could not take, is tried again this soon.
_RETRY_AFTER = timedelta(seconds=1)

# Starts the instance read from its stored row (idempotent).
Start = Callable[[storage.InstanceToStartRow], Awaitable[None]]


class Starter:
    def __init__(
        self,
        db: storage.Database,
        start: Start,
        slots: InstanceSlots,
        *,
        recover: Callable[[], Awaitable[None]],
        poll_interval: timedelta,
    ) -> None:
        self._db = db
        self._start = start
        # Starts the instances that nothing accounts for: no request, no stage, no workflow.
        self._recover = recover
        self._slots = slots
        self._poll_interval = poll_interval
        self._asked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the loop (its first round at once: what was asked while no worker ran). In a context of
        its own: an instance must not start as a child of a workflow current where it was asked for."""
        self._asked.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="starter", context=contextvars.Context())

    @property
    def stopped(self) -> bool:
        return self._task is not None and self._task.done()

    def poll_every(self, interval: timedelta) -> None:
        """Look on its own every `interval` from now on, with a round at once."""
        if interval != self._poll_interval:
            self._poll_interval = interval
            self._asked.set()

    def asked(self) -> None:
        """A request was made: take it if there is room."""
        self._asked.set()

    async def _run(self) -> None:
        unstarted: list[storage.InstanceToStartRow] = []  # taken here, whose start failed: tried again
        unsure = False  # a take failed: it may have committed all the same
        while True:
            self._asked.clear()
            self._slots.freed.clear()
            room = self._slots.free
            wanted = _BATCH if room is None else max(room - len(unstarted), 0)
            taken: list[storage.InstanceToStartRow] = []
            failed = False
            try:
                if wanted or unstarted:
                    async with self._db.begin() as conn:
                        if unstarted:  # read again: one aborted since it was taken is not started
                            unstarted = await storage.instances_to_start(conn, [row.instance_id for row in unstarted])
                        if wanted:
                            taken = await storage.take_starts(conn, wanted)
                if unsure:
                    # Its commit was lost with the connection, or not: what it took has neither a
                    # request nor a stage nor a workflow now, and only such a look finds it.
                    await self._recover()
                    unsure = False
            except Exception as exc:  # the database may be briefly unreachable: tried again in a moment
                stop_if_cancelled()
                storage.log_failure(log, "taking instances to start failed", exc)
                failed = unsure = True
            unstarted = [instance for instance in unstarted + taken if not await self._started(instance)]
            if wanted and len(taken) == wanted:
                continue  # there may be more
            wait = _RETRY_AFTER if failed or unstarted else self._poll_interval
            # Full, only a freed slot lets it take more; otherwise a request does.
            await wait_at_most(self._asked if wanted else self._slots.freed, wait.total_seconds())

    async def _started(self, instance: storage.InstanceToStartRow) -> bool:
        try:
            await self._start(instance)
        except Exception:  # logged, and tried again in a moment; the others go on
            stop_if_cancelled()
            log.exception("starting instance %s failed; trying again", instance.instance_id)
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
