"""Queries on parked instances: those waiting long (delay, wait_event) without an engine workflow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ._connection import Connection
from ._dialects import insert_or_ignore
from ._notices import NoticeKind, tell
from ._rows import DueWaitRow, WaitRow, columns
from ._tables import instance_events, instance_waits, stage_statuses, workflow_instances, workflows

# The statements of the hot paths (each event, each wake-up) are built once: building one and its
# cache key costs SQLAlchemy more than the database takes to run it.
EVENT_CAME = (
    sa.update(instance_waits)
    .where(
        instance_waits.c.instance_id == sa.bindparam("of_instance"),
        instance_waits.c.event == sa.bindparam("of_event"),
        instance_waits.c.woken_at.is_(None),
        instance_waits.c.due_at.is_(None),
    )
    .values(due_at=sa.bindparam("due_at"))  # typed as the column, as every value bound in SET
)


async def park(conn: Connection, row: WaitRow, *, tell_within: timedelta) -> None:
    """Record that the instance waits in `row.stage` (at most once per stage); a delay is
    due at its deadline. A deadline nearer than `tell_within` (the look-ahead of the other
    processes, which finds later ones in time) is told to them: should this process stop,
    theirs set a timer for it."""
    values = {**columns(row), "due_at": row.wake_at}
    await conn.execute(insert_or_ignore(conn, instance_waits, ["instance_id", "stage"]), values)
    if row.wake_at is not None and row.wake_at - row.parked_at < tell_within:
        await tell(conn, NoticeKind.DEADLINE, row.wake_at.isoformat())


async def event_came(conn: Connection, instance_id: str, name: str, *, now: datetime) -> bool:
    """The instance received the event `name`: a parked wait for it is due now (True then)."""
    came = await conn.execute(EVENT_CAME, {"of_instance": instance_id, "of_event": name, "due_at": now})
    return bool(came.rowcount)


async def get_wait(conn: Connection, instance_id: str, stage: int) -> WaitRow | None:
    query = sa.select(instance_waits).where(
        instance_waits.c.instance_id == instance_id, instance_waits.c.stage == stage
    )
    found = (await conn.execute(query)).one_or_none()
    return WaitRow(**found._mapping) if found else None


def _unwoken() -> sa.ColumnElement[bool]:
    return instance_waits.c.woken_at.is_(None)


def _due_waits_query(*, after: bool) -> sa.Select[Any]:
    """Bound: `now`, `limit` and, `after`, the last (due time, instance, stage) read."""
    waits = instance_waits.c
    order = (waits.due_at, waits.instance_id, waits.stage)
    query = sa.select(*order).where(_unwoken(), waits.due_at <= sa.bindparam("now", type_=waits.due_at.type))
    if after:
        # Typed as the columns: the deadline must be bound as the naive UTC they store.
        last = (
            sa.bindparam("after_due_at", type_=waits.due_at.type),
            sa.bindparam("after_instance", type_=waits.instance_id.type),
            sa.bindparam("after_stage", type_=waits.stage.type),
        )
        query = query.where(sa.tuple_(*order) > sa.tuple_(*last))
    due = query.order_by(*order).limit(sa.bindparam("limit", type_=sa.Integer)).subquery()
    return (
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


_DUE_WAITS = _due_waits_query(after=False)
_DUE_WAITS_AFTER = _due_waits_query(after=True)


async def due_waits(
    conn: Connection, *, now: datetime, limit: int, after: DueWaitRow | None = None
) -> list[DueWaitRow]:
    """Up to `limit` parked instances not woken yet whose wait was over at `now`, longest due
    first, those after `after` only (an index range: the cost does not grow with the number
    parked)."""
    params: dict[str, Any] = {"now": now, "limit": limit}
    if after is None:
        return [DueWaitRow(**row._mapping) for row in await conn.execute(_DUE_WAITS, params)]
    params.update(after_due_at=after.due_at, after_instance=after.instance_id, after_stage=after.stage)
    return [DueWaitRow(**row._mapping) for row in await conn.execute(_DUE_WAITS_AFTER, params)]


_NEXT_DEADLINE = (
    sa.select(instance_waits.c.due_at)
    .where(_unwoken(), instance_waits.c.due_at > sa.bindparam("after", type_=instance_waits.c.due_at.type))
    .order_by(instance_waits.c.due_at)
    .limit(1)
)


async def next_deadline(conn: Connection, *, after: datetime) -> datetime | None:
    """The earliest time a parked wait not woken yet becomes due, after `after`."""
    return (await conn.execute(_NEXT_DEADLINE, {"after": after})).scalar_one_or_none()


async def mark_woken(conn: Connection, waits: list[tuple[str, int]], *, now: datetime) -> None:
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
    # In key order, as a batch ending instances in place deletes their waits: on PostgreSQL, two
    # transactions locking wait rows in different orders could each hold one the other wants.
    await conn.execute(update, [{"waiting_instance": i, "waiting_stage": s} for i, s in sorted(waits)])


async def forget_waits(conn: Connection, instance_ids: list[str]) -> None:
    """The instances ended: nothing of them waits any more, and the events they did not take
    never will be taken."""
    if len(instance_ids) == 1:  # SQLAlchemy expands a list into the statement at each call: one goes without
        await conn.execute(_FORGET_WAITS_OF_ONE, {"of_instance": instance_ids[0]})
        await conn.execute(_FORGET_EVENTS_OF_ONE, {"of_instance": instance_ids[0]})
    else:
        await conn.execute(_FORGET_WAITS, {"of_instances": instance_ids})
        await conn.execute(_FORGET_EVENTS, {"of_instances": instance_ids})


_FORGET_WAITS = sa.delete(instance_waits).where(
    instance_waits.c.instance_id.in_(sa.bindparam("of_instances", expanding=True))
)
_FORGET_EVENTS = sa.delete(instance_events).where(
    instance_events.c.instance_id.in_(sa.bindparam("of_instances", expanding=True)),
    instance_events.c.consumed_by_stage.is_(None),
)
_FORGET_WAITS_OF_ONE = sa.delete(instance_waits).where(instance_waits.c.instance_id == sa.bindparam("of_instance"))
_FORGET_EVENTS_OF_ONE = sa.delete(instance_events).where(
    instance_events.c.instance_id == sa.bindparam("of_instance"), instance_events.c.consumed_by_stage.is_(None)
)
