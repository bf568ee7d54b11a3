"""Wake-ups for instances that wait (delay, wait_event) in this process.

A waiting stage holds no database connection and issues no query while it
waits: it sleeps on an in-memory event. Whoever changes what it waits for (an
event sent, an abort) wakes it directly when in this process; where several
processes share the database (PostgreSQL), a single poller wakes the waiters for
changes made by the others (API-only servers, other workers), with two queries
per interval whatever the number of waiters.

Only short waits wait here (retry pauses, short delays, a continuation taking
the event it was woken for); long ones park (`_waker`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from orchestration import storage

# Terminations are looked for this far back, so that a clock skew between
# processes cannot hide an abort; waking a waiter twice is harmless.
_ABORT_LOOKBACK = timedelta(seconds=30)


class Signals:
    """Per-instance wake-up events of what waits on instances in this process: their waiting
    stages, and requests waiting for their end (`?wait=true`)."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def subscribe(self, instance_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever something happens to `instance_id` (an event sent, an abort, its
        end), while the block runs."""
        event = asyncio.Event()
        self._waiters.setdefault(instance_id, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiters.get(instance_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[instance_id]

    def notify(self, instance_id: str) -> None:
        for event in self._waiters.get(instance_id, ()):
            event.set()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def poll_once(self, db: storage.Database) -> None:
        """Wake the local waiters concerned by changes of other processes."""
        if not self._waiters:
            return
        since = datetime.now(UTC) - _ABORT_LOOKBACK
        async with db.read() as conn:
            ids = await storage.instances_with_pending_events(conn)
            ids += await storage.instances_terminated_since(conn, since)
        for instance_id in ids:
            self.notify(instance_id)
