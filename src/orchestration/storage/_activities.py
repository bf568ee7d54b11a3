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

# Built once, like the other statements of every activity, stage and wake-up (see `_instances`):
# building one per call cost more than running it.
_OF_ACTIVITY = (
    stage_activities.c.instance_id == sa.bindparam("of_instance"),
    stage_activities.c.stage == sa.bindparam("of_stage"),
    stage_activities.c.sequence == sa.bindparam("of_sequence"),
)
_GET_ACTIVITY = sa.select(stage_activities).where(*_OF_ACTIVITY)
_ACTIVITY_EXISTS = sa.select(stage_activities.c.sequence).where(*_OF_ACTIVITY)
_UNFINISHED = stage_activities.c.terminated_at.is_(None)
_BEGIN_ATTEMPT = (
    sa.update(stage_activities)
    .where(*_OF_ACTIVITY, _UNFINISHED)
    .values(attempt=sa.bindparam("attempt"), next_execution=sa.bindparam("next_execution"))
)
# At attempt `of_attempt`, still unfinished: the attempt this execution runs (see `finish_activity`).
_AT_ATTEMPT = (*_OF_ACTIVITY, _UNFINISHED, stage_activities.c.attempt == sa.bindparam("of_attempt"))
_FINISH_ACTIVITY = (
    sa.update(stage_activities)
    .where(*_AT_ATTEMPT)
    .values(
        terminated_at=sa.bindparam("terminated_at"), output=sa.bindparam("output"), error=sa.bindparam("error"),
        error_code=sa.bindparam("error_code"), last_failure=None, next_execution=None,
    )
)
_SCHEDULE_RETRY = (
    sa.update(stage_activities)
    .where(*_AT_ATTEMPT)
    .values(
        attempt=sa.bindparam("attempt"), last_failure=sa.bindparam("last_failure"),
        next_execution=sa.bindparam("next_execution"), error_code=sa.bindparam("error_code"),
    )
)


def _key(instance_id: str, stage: int, sequence: int) -> dict[str, Any]:
    return {"of_instance": instance_id, "of_stage": stage, "of_sequence": sequence}


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
    key = _key(instance_id, stage, sequence)
    updated = await conn.execute(_BEGIN_ATTEMPT, {**key, "attempt": attempt, "next_execution": now})
    if updated.rowcount:
        return
    found = await conn.execute(_ACTIVITY_EXISTS, key)
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
    found = (await conn.execute(_GET_ACTIVITY, _key(instance_id, stage, sequence))).first()
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
        _FINISH_ACTIVITY,
        {
            **_key(instance_id, stage, sequence), "of_attempt": attempt, "terminated_at": now, "output": output,
            "error": error, "error_code": error_code,
        },
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
        _SCHEDULE_RETRY,
        {
            **_key(instance_id, stage, sequence), "of_attempt": attempt - 1, "attempt": attempt,
            "last_failure": last_failure, "next_execution": next_execution, "error_code": error_code,
        },
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
