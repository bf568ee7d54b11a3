"""Queries on workflow definitions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ._connection import Connection
from ._rows import WorkflowRow, columns
from ._tables import workflows

_INSERT_WORKFLOW = sa.insert(workflows)  # built once, like every insert of a row
_GET_WORKFLOW = sa.select(workflows).where(workflows.c.id == sa.bindparam("of_workflow"))  # and every read by id


async def insert_workflow(conn: Connection, row: WorkflowRow) -> None:
    await conn.execute(_INSERT_WORKFLOW, columns(row))


async def get_workflow(conn: Connection, workflow_id: str) -> WorkflowRow | None:
    found = (await conn.execute(_GET_WORKFLOW, {"of_workflow": workflow_id})).one_or_none()
    return WorkflowRow(**found._mapping) if found else None


async def list_workflows(conn: Connection, *, offset: int, limit: int | None) -> list[WorkflowRow]:
    """Live (not deleted) workflows in creation order (Q-9)."""
    query = (
        sa.select(workflows)
        .where(workflows.c.deleted_at.is_(None))
        .order_by(workflows.c.created_at, workflows.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [WorkflowRow(**r._mapping) for r in await conn.execute(query)]


async def soft_delete_workflow(conn: Connection, workflow_id: str, now: datetime) -> bool:
    """Mark deleted, again if already deleted (Q-10); False when there is no such workflow."""
    result = await conn.execute(
        sa.update(workflows).where(workflows.c.id == workflow_id).values(deleted_at=now)
    )
    return bool(result.rowcount)
