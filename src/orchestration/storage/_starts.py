"""Instances an API-only server runs, handed to the workers (`serve --worker=false`).

The request is written in the transaction that writes the instance's row, and said to every
listening worker at its commit: an instance is never accepted without a request that some worker
takes. A worker takes the oldest requests, at most as many as it has room for; on PostgreSQL
those another worker is taking are skipped (SKIP LOCKED), so each request goes to one worker.
Taking deletes the request: a worker that dies before the instance is started leaves an instance
without a stage, which the worker that takes over from it starts (`list_unstarted_instance_ids`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ._connection import Connection
from ._notices import NoticeKind, tell
from ._tables import instance_starts

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


async def request_start(conn: Connection, instance_id: str, now: datetime) -> None:
    """Ask the workers to start the instance whose row `conn`'s transaction writes."""
    await conn.execute(_REQUEST, {"instance_id": instance_id, "requested_at": now})
    await tell(conn, NoticeKind.START, instance_id)


async def take_starts(conn: Connection, limit: int) -> list[str]:
    """The instances of the oldest `limit` requests (in no particular order), now this caller's to start."""
    return list((await conn.execute(_TAKE, {"limit": limit})).scalars())
