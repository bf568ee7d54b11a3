"""Heartbeats of engine workers, so survivors can take over a dead worker's instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ._connection import Connection
from ._tables import engine_executors

# A released worker's heartbeat: older than any takeover threshold.
_RELEASED = datetime(1970, 1, 1, tzinfo=UTC)


async def beat(conn: Connection, executor_id: str, now: datetime) -> None:
    updated = await conn.execute(
        sa.update(engine_executors).where(engine_executors.c.id == executor_id).values(heartbeat_at=now)
    )
    if not updated.rowcount:
        await conn.execute(sa.insert(engine_executors).values(id=executor_id, heartbeat_at=now))


async def release(conn: Connection, executor_id: str) -> None:
    """A clean shutdown: let the survivors take over at once."""
    await conn.execute(
        sa.update(engine_executors).where(engine_executors.c.id == executor_id).values(heartbeat_at=_RELEASED)
    )


async def claim_dead(conn: Connection, *, me: str, now: datetime, silent_for: timedelta) -> list[str]:
    """Executors silent for longer than `silent_for`, each claimed by exactly one survivor.

    A claim is a heartbeat at `now` on the dead one's behalf: should its takeover fail, or its
    claimer die before it is done, the dead one is claimed again once silent for as long.
    `forget_executor` removes it once its instances are taken over."""
    threshold = now - silent_for
    stale = (
        await conn.execute(
            sa.select(engine_executors.c.id).where(
                engine_executors.c.heartbeat_at < threshold, engine_executors.c.id != me
            )
        )
    ).scalars().all()
    claimed = []
    for executor_id in stale:
        taken = await conn.execute(
            sa.update(engine_executors)
            .where(engine_executors.c.id == executor_id, engine_executors.c.heartbeat_at < threshold)
            .values(heartbeat_at=now)
        )
        if taken.rowcount:
            claimed.append(executor_id)
    return claimed


async def forget_executor(conn: Connection, executor_id: str, *, claimed_at: datetime) -> None:
    """The dead executor's instances are taken over: it is not claimed again (unless it beats anew,
    which moves its heartbeat past `claimed_at`)."""
    await conn.execute(
        sa.delete(engine_executors).where(
            engine_executors.c.id == executor_id, engine_executors.c.heartbeat_at <= claimed_at
        )
    )
