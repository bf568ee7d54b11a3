"""Triggers (spec §3.6), with the newest API's optional `version`.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("event", sa.String, nullable=False),
        sa.Column("version", sa.String, nullable=True),
        sa.Column("filter", sa.String, nullable=True),
        sa.Column("vars", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("deleted_at", sa.DateTime, nullable=True),
    )
    op.create_index("triggers_created_idx", "triggers", ["created_at", "id"])
    op.create_index("triggers_event_idx", "triggers", ["event"])


def downgrade() -> None:
    op.drop_table("triggers")
