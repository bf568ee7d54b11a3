"""Instances an API-only server runs, handed to the workers (`serve --worker=false`).

The request is written in the transaction that writes the instance's row, and said to every
listening worker at its commit: an instance is never accepted without a request that some worker
takes. A worker takes the oldest requests, at most as many as it has room for; on PostgreSQL
those another worker is taking are skipped (SKIP LOCKED), so each request goes to one worker.
Taking deletes the request: a worker that dies before the instance is started leaves an instance
without a stage, which the worker that takes over from it starts (`list_unstarted_instance_ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from ._connection import Connection
from ._notices import NoticeKind, tell
from ._rows import InstanceToStartRow
from ._tables import instance_starts, workflow_instances, workflows

# Built once: sent for every instance an API-only server runs.
_REQUEST = sa.insert(instance_starts)
_OLDEST = (
    sa.select(instance_starts.c.instance_id)
    .order_by(instance_starts.c.requested_at)
    .limit(sa.bindparam("limit", type_=sa.Integer))
    .with_for_update(skip_locked=True)
)
_TAKE = (
    sa.delete(instance_starts)
    .where(instance_starts.c.instance_id.in_(_OLDEST.scalar_subquery()))
    .returning(instance_starts.c.instance_id)
)
_TO_START = (
    sa.select(
        workflow_instances.c.id.label("instance_id"),
        workflow_instances.c.workflow_id,
        workflow_instances.c.terminated,
        workflow_instances.c.variables,
        workflows.c.config,
    )
    .join(workflows, workflows.c.id == workflow_instances.c.workflow_id)
    .where(workflow_instances.c.id.in_(sa.bindparam("ids", expanding=True)))
)


async def request_start(conn: Connection, instance_id: str, now: datetime) -> None:
    """Ask the workers to start the instance whose row `conn`'s transaction writes."""
    await conn.execute(_REQUEST, {"instance_id": instance_id, "requested_at": now})
    await tell(conn, NoticeKind.START, instance_id)


async def take_starts(conn: Connection, limit: int) -> list[InstanceToStartRow]:
    """The instances of the oldest `limit` requests (in no particular order), now this caller's to start."""
    taken = list((await conn.execute(_TAKE, {"limit": limit})).scalars())
    return await instances_to_start(conn, taken) if taken else []


async def instances_to_start(conn: Connection, instance_ids: Sequence[str]) -> list[InstanceToStartRow]:
    """Those of `instance_ids` that exist, each with what starting it needs (in no particular order)."""
    return [InstanceToStartRow(**row._mapping) for row in await conn.execute(_TO_START, {"ids": list(instance_ids)})]
