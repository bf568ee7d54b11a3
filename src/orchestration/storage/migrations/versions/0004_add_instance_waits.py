"""Instances parked in a long wait, and an index to find unconsumed events.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_waits",
        sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), primary_key=True),
        sa.Column("stage", sa.Integer, primary_key=True),
        sa.Column("event", sa.String, nullable=True),
        sa.Column("wake_at", sa.DateTime, nullable=True),
        sa.Column("parked_at", sa.DateTime, nullable=False),
        sa.Column("woken_at", sa.DateTime, nullable=True),
    )
    op.create_index("instance_waits_due_idx", "instance_waits", ["woken_at", "wake_at"])
    op.create_index("instance_events_unconsumed_idx", "instance_events", ["consumed_by_stage", "instance_id"])


def downgrade() -> None:
    op.drop_index("instance_events_unconsumed_idx", "instance_events")
    op.drop_table("instance_waits")
