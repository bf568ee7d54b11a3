"""Queries on the activities of stages and their attempts (spec §10.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ._connection import Connection
from ._rows import ActivityRow
from ._tables import stage_activities

CANCELLED = "cancelled"  # an activity is "cancelled", a stage "canceled"

_NEW_ACTIVITY = sa.insert(stage_activities)


def _key(instance_id: str, stage: int, sequence: int) -> list[sa.ColumnElement[bool]]:
    return [
        stage_activities.c.instance_id == instance_id,
        stage_activities.c.stage == stage,
        stage_activities.c.sequence == sequence,
    ]


async def begin_attempt(
    conn: Connection,
    instance_id: str,
    stage: int,
    sequence: int,
    *,
    name: str,
    input: dict[str, Any],
    attempt: int,
    now: datetime,
    exists: bool | None = None,
) -> None:
    """Record that an attempt runs now; the first one creates the activity. `exists`: whether the
    activity's row exists, when the caller read it (None: looked for here)."""
    if exists is False:
        await conn.execute(_NEW_ACTIVITY, _new_activity(instance_id, stage, sequence, name, input, attempt, now))
        return
    updated = await conn.execute(
        sa.update(stage_activities)
        .where(*_key(instance_id, stage, sequence), stage_activities.c.terminated_at.is_(None))
        .values(attempt=attempt, next_execution=now)
    )
    if updated.rowcount:
        return
    found = await conn.execute(sa.select(stage_activities.c.sequence).where(*_key(instance_id, stage, sequence)))
    if found.first() is None:
        await conn.execute(_NEW_ACTIVITY, _new_activity(instance_id, stage, sequence, name, input, attempt, now))


def _new_activity(
    instance_id: str, stage: int, sequence: int, name: str, input: dict[str, Any], attempt: int, now: datetime
) -> dict[str, Any]:
    return {
        "instance_id": instance_id, "stage": stage, "sequence": sequence, "name": name, "input": input,
        "started_at": now, "attempt": attempt, "next_execution": now,
    }


async def get_activity(conn: Connection, instance_id: str, stage: int, sequence: int) -> ActivityRow | None:
    found = (await conn.execute(sa.select(stage_activities).where(*_key(instance_id, stage, sequence)))).first()
    return ActivityRow(**found._mapping) if found else None


async def finish_activity(
    conn: Connection,
    instance_id: str,
    stage: int,
    sequence: int,
    *,
    now: datetime,
    attempt: int,
    output: Any = None,
    error: str | None = None,
    error_code: str | None = None,
) -> bool:
    """The activity's end at `attempt`: its output, or its `error` (the remote's `error_code`).
    False, and nothing written, when the row is past that attempt: ended (aborted, or by another
    execution of the same run), or on to a later attempt."""
    ended = await conn.execute(
        sa.update(stage_activities)
        .where(
            *_key(instance_id, stage, sequence),
            stage_activities.c.terminated_at.is_(None),
            stage_activities.c.attempt == attempt,
        )
        .values(
            terminated_at=now, attempt=attempt, output=output, error=error, error_code=error_code,
            last_failure=None, next_execution=None,
        )
    )
    return bool(ended.rowcount)


async def schedule_retry(
    conn: Connection,
    instance_id: str,
    stage: int,
    sequence: int,
    *,
    attempt: int,
    last_failure: str,
    next_execution: datetime,
    error_code: str | None = None,
) -> bool:
    """After a failed attempt (`last_failure`, the remote's `error_code`): `attempt` is the number of
    the next one, due at `next_execution`. False, and nothing written, when the row is past the
    failed attempt (see `finish_activity`)."""
    scheduled = await conn.execute(
        sa.update(stage_activities)
        .where(
            *_key(instance_id, stage, sequence),
            stage_activities.c.terminated_at.is_(None),
            stage_activities.c.attempt == attempt - 1,
        )
        .values(attempt=attempt, last_failure=last_failure, next_execution=next_execution, error_code=error_code)
    )
    return bool(scheduled.rowcount)


async def cancel_activities(conn: Connection, instance_id: str, now: datetime) -> None:
    await conn.execute(
        sa.update(stage_activities)
        .where(stage_activities.c.instance_id == instance_id, stage_activities.c.terminated_at.is_(None))
        .values(terminated_at=now, error=CANCELLED, error_code=None, next_execution=None)
    )


async def list_activities(conn: Connection, instance_id: str, stage: int) -> list[ActivityRow]:
    query = (
        sa.select(stage_activities)
        .where(stage_activities.c.instance_id == instance_id, stage_activities.c.stage == stage)
        .order_by(stage_activities.c.sequence)
    )
    return [ActivityRow(**r._mapping) for r in await conn.execute(query)]
