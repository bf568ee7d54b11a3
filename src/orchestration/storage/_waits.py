"""Queries on parked instances: those waiting long (delay, wait_event) without an engine workflow."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ._dialects import insert_or_ignore
from ._rows import DueWaitRow, WaitRow
from ._tables import instance_events, instance_waits, stage_statuses, workflow_instances, workflows


async def park(conn: AsyncConnection, row: WaitRow) -> None:
    """Record that the instance waits in `row.stage` (at most once per stage)."""
    await conn.execute(insert_or_ignore(conn, instance_waits, ["instance_id", "stage"]).values(**asdict(row)))


async def get_wait(conn: AsyncConnection, instance_id: str, stage: int) -> WaitRow | None:
    query = sa.select(instance_waits).where(
        instance_waits.c.instance_id == instance_id, instance_waits.c.stage == stage
    )
    found = (await conn.execute(query)).one_or_none()
    return WaitRow(**found._mapping) if found else None


async def due_waits(
    conn: AsyncConnection, *, now: datetime, limit: int, instance_id: str | None = None
) -> list[DueWaitRow]:
    """Parked instances not woken yet whose deadline has passed or whose event has
    come, optionally only `instance_id`."""
    waits = instance_waits.c
    unwoken = waits.woken_at.is_(None)
    by_time = sa.select(waits.instance_id, waits.stage).where(unwoken, waits.wake_at <= now)
    by_event = (
        sa.select(waits.instance_id, waits.stage)
        .join(
            instance_events,
            sa.and_(instance_events.c.instance_id == waits.instance_id, instance_events.c.name == waits.event),
        )
        .where(unwoken, instance_events.c.consumed_by_stage.is_(None))
    )
    if instance_id is not None:
        by_time = by_time.where(waits.instance_id == instance_id)
        by_event = by_event.where(waits.instance_id == instance_id)
    due = sa.union(by_time, by_event).limit(limit).subquery()
    query = (
        sa.select(
            waits.instance_id,
            waits.stage,
            waits.event,
            stage_statuses.c.started_at,
            workflow_instances.c.variables,
            workflows.c.config,
        )
        .join(due, sa.and_(due.c.instance_id == waits.instance_id, due.c.stage == waits.stage))
        .join(
            stage_statuses,
            sa.and_(stage_statuses.c.instance_id == waits.instance_id, stage_statuses.c.stage == waits.stage),
        )
        .join(workflow_instances, workflow_instances.c.id == waits.instance_id)
        .join(workflows, workflows.c.id == workflow_instances.c.workflow_id)
    )
    return [DueWaitRow(**row._mapping) for row in await conn.execute(query)]


async def upcoming_deadlines(conn: AsyncConnection, *, until: datetime) -> list[tuple[str, datetime]]:
    """(instance, deadline) of the parked delays not woken yet that end before `until`."""
    waits = instance_waits.c
    query = sa.select(waits.instance_id, waits.wake_at).where(waits.woken_at.is_(None), waits.wake_at <= until)
    return [(row.instance_id, row.wake_at) for row in await conn.execute(query)]


async def mark_woken(conn: AsyncConnection, instance_id: str, stage: int, *, now: datetime) -> None:
    await conn.execute(
        sa.update(instance_waits)
        .where(
            instance_waits.c.instance_id == instance_id,
            instance_waits.c.stage == stage,
            instance_waits.c.woken_at.is_(None),
        )
        .values(woken_at=now)
    )


async def forget_waits(conn: AsyncConnection, instance_id: str) -> None:
    """The instance ended: nothing of it waits any more."""
    await conn.execute(sa.delete(instance_waits).where(instance_waits.c.instance_id == instance_id))
