"""The live triggers, in memory: every event needs those of its type, and most events match none.

Reading them from the database for each event cost more than evaluating a hundred filters. The
catalog reloads them all when they changed: at once for changes made through this process
(`changed`), and, where several processes share the database, within `refresh_every` for the
others' (one query tells whether anything was created or deleted since).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import timedelta

from orchestration import storage


class TriggerCatalog:
    def __init__(self, db: storage.Database, *, shared: bool, refresh_every: timedelta) -> None:
        self._db = db
        self._shared = shared
        self._refresh_every = refresh_every.total_seconds()
        self._by_type: dict[str, list[storage.TriggerRow]] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._changes = 1  # changes made through this process (1: nothing loaded yet)
        self._loaded = 0  # how many of them `_by_type` holds
        self._lock = asyncio.Lock()

    def changed(self) -> None:
        """A trigger was created or deleted through this process."""
        self._changes += 1

    async def for_event(self, event_type: str, version: str) -> list[storage.TriggerRow]:
        """Live triggers of `event_type` whose version is unset or `version` (FLOWS-2026 §23.1),
        in creation order."""
        if self._due():
            async with self._lock:
                if self._due():  # not if another event's look just did it
                    await self._refresh()
        return [t for t in self._by_type.get(event_type, ()) if t.version is None or t.version == version]

    def _due(self) -> bool:
        return self._loaded != self._changes or (
            self._shared and time.monotonic() - self._checked_at >= self._refresh_every
        )

    async def _refresh(self) -> None:
        changes = self._changes  # read before the triggers: a change made meanwhile is loaded next time
        async with self._db.read() as conn:
            self._checked_at = time.monotonic()
            stamp = await storage.triggers_stamp(conn)
            if changes == self._loaded and stamp == self._stamp:
                return
            live = await storage.live_triggers(conn)
        by_type: dict[str, list[storage.TriggerRow]] = defaultdict(list)
        for trigger in live:
            by_type[trigger.event].append(trigger)
        # The triggers first: whoever finds nothing due reads them at once.
        self._by_type, self._stamp = dict(by_type), stamp
        self._loaded = changes
