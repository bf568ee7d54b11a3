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
        self._stale = True
        self._lock = asyncio.Lock()

    def changed(self) -> None:
        """A trigger was created or deleted through this process."""
        self._stale = True

    async def for_event(self, event_type: str, version: str) -> list[storage.TriggerRow]:
        """Live triggers of `event_type` whose version is unset or `version` (FLOWS-2026 §23.1),
        in creation order."""
        if self._due():
            async with self._lock:
                if self._due():  # not if another event's look just did it
                    await self._refresh()
        return [t for t in self._by_type.get(event_type, ()) if t.version is None or t.version == version]

    def _due(self) -> bool:
        return self._stale or (self._shared and time.monotonic() - self._checked_at >= self._refresh_every)

    async def _refresh(self) -> None:
        async with self._db.read() as conn:
            self._checked_at = time.monotonic()
            stamp = await storage.triggers_stamp(conn)
            if not self._stale and stamp == self._stamp:
                return
            self._stale = False  # before reading: a change made meanwhile marks it stale again
            live = await storage.live_triggers(conn)
        by_type: dict[str, list[storage.TriggerRow]] = defaultdict(list)
        for trigger in live:
            by_type[trigger.event].append(trigger)
        self._by_type, self._stamp = dict(by_type), stamp
