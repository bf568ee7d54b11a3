"""The outbox: events recorded with the change they report, published behind it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from orchestration.events import Event

from ._connection import Connection
from ._dialects import insert_or_ignore
from ._rows import OutboxRow
from ._tables import outbox_events


async def record_events(conn: Connection, recorded: list[Event], *, now: datetime) -> None:
    """Add events to publish; recording one with the same key again (a step run twice) adds nothing."""
    if not recorded:
        return
    await conn.execute(
        insert_or_ignore(conn, outbox_events, ["key"]),
        [{"key": e.key, "type": e.type.value, "payload": e.payload, "created_at": now} for e in recorded],
    )


_RELAY_LOCK = 0x6F726368_72656C  # "orch" "rel": the advisory lock of the one publishing relay


async def take_relay_turn(conn: Connection) -> bool:
    """Whether this transaction may publish the outbox (PostgreSQL): one transaction at a time
    does, as several would publish one instance's events out of order."""
    taken = await conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(_RELAY_LOCK)))
    return bool(taken.scalar())


async def pending_events(conn: Connection, *, limit: int) -> list[OutboxRow]:
    """The oldest unpublished events."""
    query = (
        sa.select(
            outbox_events.c.seq, outbox_events.c.key, outbox_events.c.type,
            outbox_events.c.payload, outbox_events.c.created_at,
        )
        .where(outbox_events.c.published_at.is_(None))
        .order_by(outbox_events.c.seq)
        .limit(limit)
    )
    return [OutboxRow(**r._mapping) for r in await conn.execute(query)]


async def mark_published(conn: Connection, seqs: list[int], now: datetime) -> None:
    await conn.execute(sa.update(outbox_events).where(outbox_events.c.seq.in_(seqs)).values(published_at=now))


async def forget_published(conn: Connection, before: datetime) -> None:
    """Drop the events published before `before`: the outbox is not an archive."""
    await conn.execute(sa.delete(outbox_events).where(outbox_events.c.published_at < before))
