"""The instances this process runs at once (`--max-parallel-instances`), and how many more it may take."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any


class InstanceSlots:
    """Held by each instance while its workflow runs here; `count` 0: no limit. `on_free` is called
    whenever a slot is given back, once the task that held it is done (DBOS counts a workflow
    against its queue's bound until then)."""

    def __init__(self, count: int, *, on_free: Callable[[], None] | None = None) -> None:
        self._count = count
        self._on_free = on_free
        self._turns = asyncio.Semaphore(count) if count else None
        self._held = 0
        self._waiting = 0
        # Instances whose workflow was just started here and has not asked for its slot yet.
        self._expected: set[str] = set()
        self.freed = asyncio.Event()
        """Set when a slot is given back (cleared by whoever waits for one)."""

    @property
    def free(self) -> int | None:
        """Slots nobody holds, waits for, or is about to ask for (None: no limit)."""
        if not self._count:
            return None
        return max(self._count - self._held - self._waiting - len(self._expected), 0)

    def expect(self, instance_id: str, running: asyncio.Future[Any]) -> None:
        """The workflow of `instance_id` was just started in `running`: its slot counts as taken
        from now on, though it asks for it only once it runs (or never, if it ends first)."""
        self._expected.add(instance_id)
        running.add_done_callback(lambda _: self._ended_unheld(instance_id))

    def _ended_unheld(self, instance_id: str) -> None:
        """The workflow ended; if it never asked for its slot, that slot is free again."""
        if instance_id in self._expected:
            self._expected.discard(instance_id)
            self._given_back()

    @asynccontextmanager
    async def hold(self, instance_id: str) -> AsyncIterator[None]:
        """A slot for the workflow of `instance_id` while the block runs (waiting for one first)."""
        self._expected.discard(instance_id)
        if self._turns is not None:
            self._waiting += 1
            try:
                await self._turns.acquire()
            finally:
                self._waiting -= 1
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if self._turns is not None:
                self._turns.release()
            self._given_back()

    def _given_back(self) -> None:
        """A slot is free: `freed` is set now; `on_free` is called now, or once the current task (the
        slot's holder) is done (a done callback of the workflow's future runs in no task: now)."""
        self.freed.set()
        if self._on_free is None:
            return
        on_free = self._on_free
        holder = asyncio.current_task()
        if holder is None or holder.done():
            on_free()
        else:
            holder.add_done_callback(lambda _: on_free())
