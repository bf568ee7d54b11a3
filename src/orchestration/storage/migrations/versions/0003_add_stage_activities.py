"""Activities of stages and their attempts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_activities",
        sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), primary_key=True),
        sa.Column("stage", sa.Integer, primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("input", sa.JSON, nullable=False),
        sa.Column("output", sa.JSON, nullable=True),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("terminated_at", sa.DateTime, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("last_failure", sa.String, nullable=True),
        sa.Column("next_execution", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("stage_activities")
