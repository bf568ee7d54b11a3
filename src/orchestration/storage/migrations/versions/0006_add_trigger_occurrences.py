"""Trigger occurrences (spec §3.7), unique per trigger and message.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triggers_occurrences",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("trigger_id", sa.String, sa.ForeignKey("triggers.id"), nullable=False),
        # Checked at commit: the occurrence is written before the instance it names.
    sa.Column(
        "workflow_instance_id",
        sa.String,
        sa.ForeignKey("workflow_instances.id", deferrable=True, initially="DEFERRED"),
        nullable=True,
    ),
        sa.Column("date", sa.DateTime, nullable=False),
        sa.Column("event", sa.JSON, nullable=False),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("dispatch_key", sa.String, nullable=False),
        sa.UniqueConstraint("trigger_id", "dispatch_key", name="triggers_occurrences_dispatch_key"),
    )
    op.create_index("triggers_occurrences_listed_idx", "triggers_occurrences", ["trigger_id", "date", "id"])


def downgrade() -> None:
    op.drop_table("triggers_occurrences")
