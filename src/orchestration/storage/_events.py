"""Queries on events sent to instances (DESIGN §4: events are durable)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ._connection import Connection
from ._notices import NoticeKind, notice_payload, tell, tell_for_each
from ._tables import instance_events, instance_waits, workflow_instances
from ._waits import EVENT_CAME, event_came

_INSERT_EVENT = sa.insert(instance_events)  # built once: sent for every event


async def insert_event(conn: Connection, instance_id: str, name: str, now: datetime) -> bool:
    """Keep the event; a parked wait for it becomes due in the same transaction (True then, and
    other processes are told at commit). The caller holds the instance's lock: a wait parked by
    a transaction that held it before is seen."""
    if conn.dialect.name == "postgresql":  # the three in one round trip
        # (no other key named as a column of the waits: the UPDATE would set it too; the event's
        # `sent_at` is the same instant as the wait's `due_at`)
        params = {"of_instance": instance_id, "of_event": name, "due_at": now,
                  "payload": notice_payload(NoticeKind.DUE, instance_id)}
        return bool((await conn.execute(_KEEP_EVENT_AND_TELL_DUE, params)).all())
    await conn.execute(_INSERT_EVENT, {"instance_id": instance_id, "name": name, "sent_at": now})
    due = await event_came(conn, instance_id, name, now=now)
    if due:  # (an event for a wait in memory elsewhere is found by that process's poll, `Signals`)
        await tell(conn, NoticeKind.DUE, instance_id)
    return due


async def event_ready(conn: Connection, instance_id: str, stage: int, name: str) -> bool:
    """Whether `consume_event` would succeed now (a cheap read before taking the write lock)."""
    wanted = {"of_instance": instance_id, "of_stage": stage, "of_name": name}
    return (await conn.execute(_EVENT_FOR_STAGE, wanted)).first() is not None


async def consume_event(conn: Connection, instance_id: str, stage: int, name: str) -> bool:
    """Give the oldest unconsumed event called `name` to `stage`; True once it has one.

    Idempotent: a stage that already consumed an event (before a crash) gets True again.
    The update takes the event only if it is still unconsumed, so of two stages racing for
    one event, one gets it even without the instance lock (on PostgreSQL the second waits
    for the first's row lock, then finds the event taken and looks again). Two transactions
    for the *same* stage still need the caller's instance lock, as every caller holds.
    """
    wanted = {"of_instance": instance_id, "of_stage": stage, "of_name": name}
    while (event := (await conn.execute(_EVENT_FOR_STAGE, wanted)).first()) is not None:
        if event.consumed_by_stage is not None:
            return True  # the stage's already
        taken = await conn.execute(_TAKE_EVENT, {"event_id": event.id, "consumed_by_stage": stage})
        if taken.rowcount == 1:
            return True
    return False


async def consume_events(conn: Connection, wanted: Sequence[tuple[str, int, str]]) -> set[str]:
    """`consume_event` for several (instance, stage, name), one stage per instance, in two
    statements: the instances whose stage has its event. The caller holds every instance's lock:
    nothing else takes their events meanwhile."""
    if not wanted:
        return set()
    found = await conn.execute(_EVENTS_OF, {"of_instances": [instance_id for instance_id, _, _ in wanted]})
    events: dict[str, list[Any]] = {}
    for event in found:
        events.setdefault(event.instance_id, []).append(event)
    have: set[str] = set()
    takes: list[dict[str, int]] = []
    for instance_id, stage, name in wanted:
        candidates = events.get(instance_id, [])
        if any(event.consumed_by_stage == stage for event in candidates):
            have.add(instance_id)  # the stage's already
        elif (oldest := next((e for e in candidates if e.consumed_by_stage is None and e.name == name), None)):
            have.add(instance_id)
            takes.append({"event_id": oldest.id, "consumed_by_stage": stage})
    if takes:
        await conn.execute(_TAKE_EVENT, takes)
    return have


# The event kept, the wait it ends made due (`_waits.EVENT_CAME`), and the others told of each due,
# in one statement (PostgreSQL runs a CTE that changes rows once, whether it is read or not).
_KEEP_EVENT_AND_TELL_DUE = tell_for_each(
    EVENT_CAME.returning(instance_waits.c.instance_id).cte("due")
).add_cte(
    sa.insert(instance_events)
    .values(instance_id=sa.bindparam("of_instance"), name=sa.bindparam("of_event"), sent_at=sa.bindparam("due_at"))
    .cte("kept")
)
_EVENTS_OF = (
    sa.select(
        instance_events.c.id, instance_events.c.instance_id, instance_events.c.name, instance_events.c.consumed_by_stage
    )
    .where(instance_events.c.instance_id.in_(sa.bindparam("of_instances", expanding=True)))
    .order_by(instance_events.c.id)
)
# The event `of_stage` took already, else the oldest unconsumed one called `of_name`.
_EVENT_FOR_STAGE = (
    sa.select(instance_events.c.id, instance_events.c.consumed_by_stage)
    .where(
        instance_events.c.instance_id == sa.bindparam("of_instance"),
        sa.or_(
            instance_events.c.consumed_by_stage == sa.bindparam("of_stage"),
            sa.and_(
                instance_events.c.name == sa.bindparam("of_name"), instance_events.c.consumed_by_stage.is_(None)
            ),
        ),
    )
    .order_by(instance_events.c.consumed_by_stage.is_(None), instance_events.c.id)
    .limit(1)
)
_TAKE_EVENT = (
    sa.update(instance_events)
    .where(instance_events.c.id == sa.bindparam("event_id"), instance_events.c.consumed_by_stage.is_(None))
    .values(consumed_by_stage=sa.bindparam("consumed_by_stage"))
)


async def instances_with_pending_events(conn: Connection) -> list[str]:
    """Running instances that have events nobody consumed yet."""
    query = (
        sa.select(instance_events.c.instance_id)
        .join(workflow_instances, workflow_instances.c.id == instance_events.c.instance_id)
        .where(instance_events.c.consumed_by_stage.is_(None), workflow_instances.c.terminated.is_(False))
        .distinct()
    )
    return list((await conn.execute(query)).scalars())
