"""When each parked wait is due, indexed: finding what to wake is an index lookup.

A delay is due at its deadline, set when it parks; a wait for an event is due when the
event comes, set in the event's transaction. Events never consumed by an instance that
has ended are deleted (nothing can take them any more).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance_waits") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime, nullable=True))
    op.execute("UPDATE instance_waits SET due_at = wake_at WHERE wake_at IS NOT NULL")
    op.execute(
        "UPDATE instance_waits SET due_at = parked_at"
        " WHERE event IS NOT NULL AND woken_at IS NULL AND EXISTS ("
        "SELECT 1 FROM instance_events e WHERE e.instance_id = instance_waits.instance_id"
        " AND e.name = instance_waits.event AND e.consumed_by_stage IS NULL)"
    )
    op.drop_index("instance_waits_due_idx", "instance_waits")
    op.create_index("instance_waits_due_idx", "instance_waits", ["woken_at", "due_at"])
    op.execute(
        "DELETE FROM instance_events WHERE consumed_by_stage IS NULL AND instance_id IN ("
        "SELECT id FROM workflow_instances WHERE terminated)"
    )


def downgrade() -> None:
    op.drop_index("instance_waits_due_idx", "instance_waits")
    op.create_index("instance_waits_due_idx", "instance_waits", ["woken_at", "wake_at"])
    with op.batch_alter_table("instance_waits") as batch:
        batch.drop_column("due_at")
