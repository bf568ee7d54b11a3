"""The service-wide counts that `/metrics` shows, each an index range count."""

from __future__ import annotations

import sqlalchemy as sa

from ._connection import Connection
from ._tables import instance_waits, outbox_events, stage_activities, workflow_instances


async def count_gauges(conn: Connection) -> tuple[int, int, int, int]:
    """(instances running, instances parked, activities in retry, events not yet published)."""
    running = sa.select(sa.func.count()).where(workflow_instances.c.terminated_at.is_(None))
    parked = sa.select(sa.func.count()).select_from(instance_waits).where(instance_waits.c.woken_at.is_(None))
    # An activity that failed and is not finished is between retries, or in one.
    retrying = sa.select(sa.func.count()).where(
        stage_activities.c.terminated_at.is_(None), stage_activities.c.last_failure.is_not(None)
    )
    pending = sa.select(sa.func.count()).select_from(outbox_events).where(outbox_events.c.published_at.is_(None))
    counts = await conn.execute(
        sa.select(running.scalar_subquery(), parked.scalar_subquery(), retrying.scalar_subquery(),
                  pending.scalar_subquery())
    )
    row = counts.one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])
