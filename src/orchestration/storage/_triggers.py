"""Queries on triggers, their occurrences and the objects they fired for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ._connection import Connection
from ._dialects import insert_or_ignore, inserted
from ._rows import InstanceRow, OccurrenceRow, OccurrenceView, TriggerRow, columns
from ._tables import trigger_objects, trigger_occurrences, triggers, workflow_instances

_INSERT_TRIGGER = sa.insert(triggers)  # built once, like every insert of a row


async def insert_trigger(conn: Connection, row: TriggerRow) -> None:
    await conn.execute(_INSERT_TRIGGER, columns(row))


async def get_trigger(conn: Connection, trigger_id: str) -> TriggerRow | None:
    """A live (not deleted) trigger."""
    query = sa.select(triggers).where(triggers.c.id == trigger_id, triggers.c.deleted_at.is_(None))
    found = (await conn.execute(query)).one_or_none()
    return TriggerRow(**found._mapping) if found else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_triggers(
    conn: Connection, *, name: str | None, offset: int, limit: int | None
) -> list[TriggerRow]:
    """Live triggers in creation order; `name` is a case-insensitive substring (Q-6 fixed)."""
    query = (
        sa.select(triggers)
        .where(triggers.c.deleted_at.is_(None))
        .order_by(triggers.c.created_at, triggers.c.id)
        .offset(offset)
        .limit(limit)
    )
    if name:
        query = query.where(triggers.c.name.ilike(f"%{_escape_like(name)}%", escape="\\"))
    return [TriggerRow(**r._mapping) for r in await conn.execute(query)]


async def live_triggers(conn: Connection) -> list[TriggerRow]:
    """Every trigger not deleted, in creation order (the order dispatch fires them in)."""
    query = sa.select(triggers).where(triggers.c.deleted_at.is_(None)).order_by(triggers.c.created_at, triggers.c.id)
    return [TriggerRow(**r._mapping) for r in await conn.execute(query)]


async def triggers_stamp(conn: Connection) -> tuple[int, int]:
    """(triggers made, triggers deleted): triggers are never removed, so any creation or deletion
    changes it."""
    query = sa.select(sa.func.count(), sa.func.count(triggers.c.deleted_at))
    made, deleted = (await conn.execute(query)).one()
    return int(made), int(deleted)


async def soft_delete_trigger(conn: Connection, trigger_id: str, now: datetime) -> bool:
    """False when there is no live trigger of that id (§2.6 E15: deleting twice is a 404)."""
    result = await conn.execute(
        sa.update(triggers)
        .where(triggers.c.id == trigger_id, triggers.c.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    return bool(result.rowcount)


async def insert_occurrence(conn: Connection, row: OccurrenceRow) -> bool:
    """False when this trigger already has an occurrence for this message (`dispatch_key`)."""
    insert = insert_or_ignore(conn, trigger_occurrences, ["trigger_id", "dispatch_key"],
                              returning=(trigger_occurrences.c.id,))
    return await inserted(conn, insert, columns(row))


async def find_occurrence(conn: Connection, trigger_id: str, dispatch_key: str) -> OccurrenceRow | None:
    """The occurrence of this trigger for this message, if it fired for it already."""
    query = sa.select(trigger_occurrences).where(
        trigger_occurrences.c.trigger_id == trigger_id, trigger_occurrences.c.dispatch_key == dispatch_key
    )
    found = (await conn.execute(query)).one_or_none()
    return OccurrenceRow(**found._mapping) if found else None


async def forget_occurrence(conn: Connection, occurrence_id: str) -> None:
    """Take back an occurrence written in this transaction (its trigger turned out not to fire)."""
    await conn.execute(sa.delete(trigger_occurrences).where(trigger_occurrences.c.id == occurrence_id))


async def claim_object(conn: Connection, trigger_id: str, object_id: str) -> bool:
    """Record that the trigger fired for this payment or account; False if it already had (Q-20)."""
    insert = insert_or_ignore(
        conn, trigger_objects, ["trigger_id", "object_id"], returning=(trigger_objects.c.trigger_id,)
    )
    return await inserted(conn, insert, {"trigger_id": trigger_id, "object_id": object_id})


async def list_occurrences(
    conn: Connection, trigger_id: str, *, offset: int, limit: int | None
) -> list[OccurrenceView]:
    """Occurrences of a trigger, deleted or not, oldest first, with their instance (§2.6 E16)."""
    instance = workflow_instances.alias("instance")
    query = (
        sa.select(trigger_occurrences, *[c.label(f"instance_{c.name}") for c in instance.c])
        .outerjoin(instance, instance.c.id == trigger_occurrences.c.workflow_instance_id)
        .where(trigger_occurrences.c.trigger_id == trigger_id)
        .order_by(trigger_occurrences.c.date, trigger_occurrences.c.id)
        .offset(offset)
        .limit(limit)
    )
    views = []
    for row in await conn.execute(query):
        values = row._mapping
        occurrence = OccurrenceRow(**{c.name: values[c.name] for c in trigger_occurrences.c})
        started = None
        if values["instance_id"] is not None:
            started = InstanceRow(**{c.name: values[f"instance_{c.name}"] for c in instance.c})
        views.append(OccurrenceView(occurrence, started))
    return views
