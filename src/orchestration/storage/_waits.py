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
    """Record that the instance waits in `row.stage` (at most once per stage); a delay is
    due at its deadline."""
    values = {**asdict(row), "due_at": row.wake_at}
    await conn.execute(insert_or_ignore(conn, instance_waits, ["instance_id", "stage"]).values(**values))


async def event_came(conn: AsyncConnection, instance_id: str, name: str, *, now: datetime) -> None:
    """The instance received the event `name`: a parked wait for it is due now."""
    waits = instance_waits.c
    await conn.execute(
        sa.update(instance_waits)
        .where(waits.instance_id == instance_id, waits.event == name, waits.woken_at.is_(None), waits.due_at.is_(None))
        .values(due_at=now)
    )


async def get_wait(conn: AsyncConnection, instance_id: str, stage: int) -> WaitRow | None:
    query = sa.select(instance_waits).where(
        instance_waits.c.instance_id == instance_id, instance_waits.c.stage == stage
    )
    found = (await conn.execute(query)).one_or_none()
    return WaitRow(**found._mapping) if found else None


def _unwoken() -> sa.ColumnElement[bool]:
    return instance_waits.c.woken_at.is_(None)


async def due_waits(
    conn: AsyncConnection, *, now: datetime, limit: int, after: DueWaitRow | None = None
) -> list[DueWaitRow]:
    """Up to `limit` parked instances not woken yet whose wait was over at `now`, longest due
    first, those after `after` only (an index range: the cost does not grow with the number
    parked)."""
    waits = instance_waits.c
    order = (waits.due_at, waits.instance_id, waits.stage)
    query = sa.select(*order).where(_unwoken(), waits.due_at <= now)
    if after is not None:
        # Typed as the columns: the deadline must be bound as the naive UTC they store.
        last = (sa.literal(after.due_at, waits.due_at.type), sa.literal(after.instance_id), sa.literal(after.stage))
        query = query.where(sa.tuple_(*order) > sa.tuple_(*last))
    due = query.order_by(*order).limit(limit).subquery()
    query = (
        sa.select(
            due.c.instance_id,
            due.c.stage,
            due.c.due_at,
            waits.event,
            stage_statuses.c.started_at,
            workflow_instances.c.variables,
            workflows.c.config,
        )
        .select_from(due)
        .join(instance_waits, sa.and_(waits.instance_id == due.c.instance_id, waits.stage == due.c.stage))
        .join(
            stage_statuses,
            sa.and_(stage_statuses.c.instance_id == due.c.instance_id, stage_statuses.c.stage == due.c.stage),
        )
        .join(workflow_instances, workflow_instances.c.id == due.c.instance_id)
        .join(workflows, workflows.c.id == workflow_instances.c.workflow_id)
        .order_by(due.c.due_at, due.c.instance_id, due.c.stage)
    )
    return [DueWaitRow(**row._mapping) for row in await conn.execute(query)]


async def next_deadline(conn: AsyncConnection, *, after: datetime) -> datetime | None:
    """The earliest time a parked wait not woken yet becomes due, after `after`."""
    waits = instance_waits.c
    query = sa.select(waits.due_at).where(_unwoken(), waits.due_at > after).order_by(waits.due_at).limit(1)
    return (await conn.execute(query)).scalar_one_or_none()


async def mark_woken(conn: AsyncConnection, waits: list[tuple[str, int]], *, now: datetime) -> None:
    """The continuations of these (instance, stage) waits have started: they are no longer due."""
    if not waits:
        return
    update = (
        sa.update(instance_waits)
        .where(
            instance_waits.c.instance_id == sa.bindparam("waiting_instance"),
            instance_waits.c.stage == sa.bindparam("waiting_stage"),
            _unwoken(),
        )
        .values(woken_at=now)
    )
    await conn.execute(update, [{"waiting_instance": i, "waiting_stage": s} for i, s in waits])


async def forget_waits(conn: AsyncConnection, instance_id: str) -> None:
    """The instance ended: nothing of it waits any more, and the events it did not take
    never will be taken."""
    await conn.execute(sa.delete(instance_waits).where(instance_waits.c.instance_id == instance_id))
    await conn.execute(
        sa.delete(instance_events).where(
            instance_events.c.instance_id == instance_id, instance_events.c.consumed_by_stage.is_(None)
        )
    )
