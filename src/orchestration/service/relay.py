"""Publishes the outbox: events recorded with their changes go to the bus, oldest first.

At least once: an event is marked published after the bus acknowledged it, so a crash in
between publishes it again (with the same message id, which JetStream's duplicate window
drops). In order: one relay publishes at a time, even with several workers on PostgreSQL.
The bus being down only delays events; instances never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from orchestration import events, storage
from orchestration.bus import EventPublisher, PublishFailed
from orchestration.observability import metrics
from orchestration.waiting import stop_if_cancelled

log = logging.getLogger(__name__)

BATCH = 100
"""Events read per look at the outbox."""
KEEP_PUBLISHED = timedelta(hours=1)
"""How long a published event stays in the outbox (to look at), before it is dropped."""


class EventRelay:
    def __init__(
        self,
        db: storage.Database,
        publisher: EventPublisher,
        *,
        poll_interval: timedelta = timedelta(milliseconds=200),
        retry_after: timedelta = timedelta(seconds=2),
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._poll = poll_interval.total_seconds()
        self._retry_after = retry_after.total_seconds()
        self._pruned_at = datetime.now(UTC)

    async def run(self) -> None:
        """Publish for ever: at once what is pending, then every poll interval; after a
        failure, again once the bus had time to come back."""
        failing = False
        while True:
            try:
                published = await self.publish_pending()
                if failing:
                    log.info("the bus takes events again")
                failing = False
                await self._prune()
            except PublishFailed as exc:
                if not failing:
                    log.warning("events wait in the outbox: the bus does not take them (%s)", exc)
                failing = True
                published = 0
            except Exception as exc:  # the database may be briefly unreachable
                stop_if_cancelled()
                storage.log_failure(log, "publishing events failed; trying again", exc)
                published = 0
            if published < BATCH:
                await asyncio.sleep(self._retry_after if failing else self._poll)

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; how many were published. What went out is
        marked even when a later event of the batch failed (then `PublishFailed` is raised)."""
        if self._db.is_sqlite:
            # One process owns the file: read, publish, then take the write lock only to mark.
            async with self._db.read() as conn:
                pending = await storage.pending_events(conn, limit=BATCH)
            done, failure = await self._publish(pending)
            if done:
                async with self._db.begin() as conn:
                    await storage.mark_published(conn, done, datetime.now(UTC))
        else:
            # Several workers: the turn (an advisory lock) is held from reading to marking.
            async with self._db.begin() as conn:
                if not await storage.take_relay_turn(conn):
                    return 0  # another worker's relay is publishing
                pending = await storage.pending_events(conn, limit=BATCH)
                done, failure = await self._publish(pending)
                if done:
                    await storage.mark_published(conn, done, datetime.now(UTC))
        if failure is not None:
            raise failure
        return len(done)

    async def _publish(self, pending: list[storage.OutboxRow]) -> tuple[list[int], PublishFailed | None]:
        done: list[int] = []
        for row in pending:
            data = events.envelope(row.key, row.type, row.payload, datetime.now(UTC))
            try:
                await self._publisher.publish(events.TOPIC, data, message_id=row.key)
            except PublishFailed as exc:
                return done, exc
            metrics.EVENTS_PUBLISHED.labels(row.type).inc()
            done.append(row.seq)
        return done, None

    async def _prune(self) -> None:
        now = datetime.now(UTC)
        if now - self._pruned_at < KEEP_PUBLISHED / 60:
            return
        self._pruned_at = now
        async with self._db.begin() as conn:
            await storage.forget_published(conn, now - KEEP_PUBLISHED)
