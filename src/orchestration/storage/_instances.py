"""Queries on instances and their stage rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from ._activities import cancel_activities
from ._connection import Connection
from ._dialects import insert_or_ignore
from ._notices import NoticeKind, tell
from ._rows import InstanceRow, StageRow, WorkflowRow, columns
from ._tables import instance_starts, stage_statuses, workflow_instances, workflows
from ._waits import forget_waits

CANCELED = "canceled"
_INSERT_INSTANCE = sa.insert(workflow_instances)  # built once: sent for every instance


async def insert_instance(conn: Connection, row: InstanceRow) -> None:
    await conn.execute(_INSERT_INSTANCE, columns(row))


async def get_instance(conn: Connection, instance_id: str) -> InstanceRow | None:
    found = (await conn.execute(_GET_INSTANCE, {"of_instance": instance_id})).one_or_none()
    return InstanceRow(**found._mapping) if found else None


async def list_instances(
    conn: Connection,
    *,
    workflow_id: str | None,
    running: bool,
    offset: int,
    limit: int | None,
) -> list[tuple[InstanceRow, WorkflowRow]]:
    """Instances of live workflows only (§2.6 E6), in creation order, each with its workflow."""
    workflow_columns = [column.label(f"of_workflow_{column.name}") for column in workflows.c]
    query = (
        sa.select(workflow_instances, *workflow_columns)
        .join(workflows, workflows.c.id == workflow_instances.c.workflow_id)
        .where(workflows.c.deleted_at.is_(None))
        .order_by(workflow_instances.c.created_at, workflow_instances.c.id)
        .offset(offset)
        .limit(limit)
    )
    if workflow_id:
        query = query.where(workflow_instances.c.workflow_id == workflow_id)
    if running:
        query = query.where(workflow_instances.c.terminated.is_(False))
    found = []
    for row in await conn.execute(query):
        values = row._mapping
        instance = InstanceRow(**{column.name: values[column.name] for column in workflow_instances.c})
        workflow = WorkflowRow(**{column.name: values[f"of_workflow_{column.name}"] for column in workflows.c})
        found.append((instance, workflow))
    return found


async def list_unstarted_instance_ids(conn: Connection, created_before: datetime | None = None) -> list[str]:
    """Running instances without a stage recorded (created before `created_before`, if given):
    the only ones whose engine workflow may never have started (any other has recorded its
    first stage from its workflow). Parked instances are not among them, however many; nor are
    those an API-only server asked the workers to start, while no worker has taken the request."""
    has_stage = sa.exists().where(stage_statuses.c.instance_id == workflow_instances.c.id)
    requested = sa.exists().where(instance_starts.c.instance_id == workflow_instances.c.id)
    query = sa.select(workflow_instances.c.id).where(
        workflow_instances.c.terminated.is_(False), ~has_stage, ~requested
    )
    if created_before is not None:
        query = query.where(workflow_instances.c.created_at < created_before)
    return list((await conn.execute(query)).scalars())


async def list_stages(conn: Connection, instance_id: str) -> list[StageRow]:
    return [StageRow(**r._mapping) for r in await conn.execute(_LIST_STAGES, {"of_instance": instance_id})]


async def get_stage(conn: Connection, instance_id: str, stage: int) -> StageRow | None:
    query = sa.select(stage_statuses).where(
        stage_statuses.c.instance_id == instance_id, stage_statuses.c.stage == stage
    )
    found = (await conn.execute(query)).one_or_none()
    return StageRow(**found._mapping) if found else None


# Built once, like the other statements of every event, wake-up and stage (see `_waits`).
_GET_INSTANCE = sa.select(workflow_instances).where(workflow_instances.c.id == sa.bindparam("of_instance"))
_LIST_STAGES = (
    sa.select(stage_statuses)
    .where(stage_statuses.c.instance_id == sa.bindparam("of_instance"))
    .order_by(stage_statuses.c.stage)
)
_LOCK_INSTANCE = _GET_INSTANCE.with_for_update()
_LOCK_TERMINATED = (
    sa.select(workflow_instances.c.terminated)
    .where(workflow_instances.c.id == sa.bindparam("of_instance"))
    .with_for_update()
)
_FINISH_STAGE = (
    sa.update(stage_statuses)
    .where(
        stage_statuses.c.instance_id == sa.bindparam("of_instance"),
        stage_statuses.c.stage == sa.bindparam("of_stage"),
        stage_statuses.c.terminated_at.is_(None),
    )
    .values(terminated_at=sa.bindparam("terminated_at"), error=sa.bindparam("error"))
    .returning(stage_statuses.c.name, stage_statuses.c.started_at)
)
_TERMINATE = (
    sa.update(workflow_instances)
    .where(workflow_instances.c.id == sa.bindparam("of_instance"), workflow_instances.c.terminated.is_(False))
    .values(terminated=True, terminated_at=sa.bindparam("terminated_at"), error=sa.bindparam("error"))
)


_LOCK_INSTANCES = (
    sa.select(workflow_instances)
    .where(workflow_instances.c.id.in_(sa.bindparam("of_instances", expanding=True)))
    .order_by(workflow_instances.c.id)
    .with_for_update()
)
_FINISH_STAGES = (
    sa.update(stage_statuses)
    .where(
        # The instances alone as well: SQLite looks a list of pairs up in no index, and scanned.
        stage_statuses.c.instance_id.in_(sa.bindparam("of_instances", expanding=True)),
        sa.tuple_(stage_statuses.c.instance_id, stage_statuses.c.stage).in_(sa.bindparam("of_stages", expanding=True)),
        stage_statuses.c.terminated_at.is_(None),
    )
    .values(terminated_at=sa.bindparam("terminated_at"), error=sa.bindparam("error"))
    .returning(stage_statuses.c.instance_id, stage_statuses.c.name, stage_statuses.c.started_at)
)
_TERMINATE_ALL = (
    sa.update(workflow_instances)
    .where(
        workflow_instances.c.id.in_(sa.bindparam("of_instances", expanding=True)),
        workflow_instances.c.terminated.is_(False),
    )
    .values(terminated=True, terminated_at=sa.bindparam("terminated_at"), error=sa.bindparam("error"))
    .returning(workflow_instances.c.id)
)


async def lock_instance(conn: Connection, instance_id: str) -> InstanceRow | None:
    """Read an instance and hold its row until commit, so that abort and the engine's
    bookkeeping on the same instance serialise (a no-op lock on SQLite, whose writers
    are serialised anyway)."""
    found = (await conn.execute(_LOCK_INSTANCE, {"of_instance": instance_id})).one_or_none()
    return InstanceRow(**found._mapping) if found else None


async def lock_terminated(conn: Connection, instance_id: str) -> bool | None:
    """`lock_instance` for a caller that reads only whether the instance has terminated (None: there
    is no such instance): none of its other columns travel or are decoded."""
    return (await conn.execute(_LOCK_TERMINATED, {"of_instance": instance_id})).scalar_one_or_none()


async def lock_instances(conn: Connection, instance_ids: Iterable[str]) -> dict[str, InstanceRow]:
    """`lock_instance` for several instances in one statement, by id: those found. Rows are
    locked in the order of their ids, so that two transactions locking overlapping sets wait
    for each other, never in a cycle (any other transaction locks one instance)."""
    ids = list(instance_ids)
    if len(ids) == 1:  # (each `...s` query below sends one alone as the single-row statement: cheaper)
        one = await lock_instance(conn, ids[0])
        return {one.id: one} if one is not None else {}
    found = await conn.execute(_LOCK_INSTANCES, {"of_instances": ids})
    return {row.id: InstanceRow(**row._mapping) for row in found}


async def finish_stage(
    conn: Connection, instance_id: str, stage: int, *, now: datetime, error: str | None
) -> tuple[str, datetime] | None:
    """End a stage row unless it has already ended (e.g. by an abort); its (name, start time)
    when this ended it."""
    ended = await conn.execute(
        _FINISH_STAGE, {"of_instance": instance_id, "of_stage": stage, "terminated_at": now, "error": error}
    )
    row = ended.first()
    return (row.name, row.started_at) if row is not None else None


async def finish_stages(
    conn: Connection, stages: Sequence[tuple[str, int]], *, now: datetime, error: str | None
) -> dict[str, tuple[str, datetime]]:
    """`finish_stage` for several (instance, stage) at once, one stage per instance: by instance,
    the (name, start time) of each stage this ended."""
    if len(stages) <= 1:  # SQLAlchemy expands a list into the statement at each call: one goes without
        ended = {target: await finish_stage(conn, target, stage, now=now, error=error) for target, stage in stages}
        return {target: one for target, one in ended.items() if one is not None}
    params = {"of_instances": [instance_id for instance_id, _ in stages], "of_stages": list(stages),
              "terminated_at": now, "error": error}
    return {row.instance_id: (row.name, row.started_at) for row in await conn.execute(_FINISH_STAGES, params)}


def new_stage(
    instance_id: str,
    stage: int,
    *,
    now: datetime,
    name: str,
    input: dict[str, Any],
    error: str | None = None,
    ended: bool = False,
) -> StageRow:
    """The row of a stage starting now; ended already when it failed before it could run (`error`)
    or has nothing to do (`ended`)."""
    return StageRow(
        instance_id=instance_id,
        stage=stage,
        temporal_run_id=instance_id,
        started_at=now,
        terminated_at=now if error is not None or ended else None,
        error=error,
        name=name,
        input=input,
    )


_STARTED = (stage_statuses.c.stage, stage_statuses.c.started_at)


async def start_stages(conn: Connection, rows: list[StageRow]) -> datetime:
    """Insert stage rows of one instance in one statement, keeping those a crashed earlier attempt
    inserted; the start time of the last one."""
    # The rows as parameters: SQLAlchemy compiles the statement once and sends the rows in one
    # statement ("insertmanyvalues"). A list of VALUES in the statement has no cache key and was
    # compiled anew each time: 3 rows took 2.1-2.9 ms with their transaction, now 1.1-1.3 ms.
    insert = insert_or_ignore(conn, stage_statuses, ["instance_id", "stage"], returning=_STARTED)
    inserted = await conn.execute(insert, [columns(row) for row in rows])
    started = {row.stage: row.started_at for row in inserted}
    last = rows[-1]
    if last.stage in started:
        return started[last.stage]  # type: ignore[no-any-return]
    existing = await get_stage(conn, last.instance_id, last.stage)  # inserted before a crash: its time stands
    assert existing is not None
    return existing.started_at


async def add_stages(conn: Connection, rows: list[StageRow]) -> None:
    """Insert stage rows of any instances in one statement, keeping those that exist."""
    if rows:
        await conn.execute(insert_or_ignore(conn, stage_statuses, ["instance_id", "stage"]),
                           [columns(row) for row in rows])


async def terminate_instance(
    conn: Connection, instance_id: str, *, now: datetime, error: str | None
) -> bool:
    """Mark the instance terminated; False if something (an abort) already did."""
    result = await conn.execute(_TERMINATE, {"of_instance": instance_id, "terminated_at": now, "error": error})
    if not result.rowcount:
        return False
    await forget_waits(conn, [instance_id])
    return True


async def terminate_instances(
    conn: Connection, ending: Iterable[tuple[str, str | None]], *, now: datetime
) -> set[str]:
    """`terminate_instance` for several (instance, error) at once, a statement per distinct
    error: those this terminated."""
    ending = list(ending)
    if len(ending) == 1:
        [(instance_id, error)] = ending
        return {instance_id} if await terminate_instance(conn, instance_id, now=now, error=error) else set()
    terminated: set[str] = set()
    for error, group in groupby(sorted(ending, key=_by_error), key=lambda end: end[1]):
        params = {"of_instances": [instance_id for instance_id, _ in group], "terminated_at": now, "error": error}
        terminated.update((await conn.execute(_TERMINATE_ALL, params)).scalars())
    if terminated:
        await forget_waits(conn, sorted(terminated))
    return terminated


def _by_error(end: tuple[str, str | None]) -> tuple[bool, str]:
    return end[1] is not None, end[1] or ""


async def cancel_instance(conn: Connection, instance_id: str, *, now: datetime) -> bool:
    """Abort (§9): end the running stage and the instance with `canceled`.

    False when the instance had already terminated: nothing changes then.
    """
    if not await terminate_instance(conn, instance_id, now=now, error=CANCELED):
        return False
    await conn.execute(
        sa.update(stage_statuses)
        .where(stage_statuses.c.instance_id == instance_id, stage_statuses.c.terminated_at.is_(None))
        .values(terminated_at=now, error=CANCELED)
    )
    await cancel_activities(conn, instance_id, now)
    await tell(conn, NoticeKind.ABORTED, instance_id)
    return True


async def instances_terminated_since(conn: Connection, since: datetime) -> list[str]:
    query = sa.select(workflow_instances.c.id).where(workflow_instances.c.terminated_at >= since)
    return list((await conn.execute(query)).scalars())
