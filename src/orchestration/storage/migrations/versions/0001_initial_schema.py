"""Workflows, instances, stage statuses and instance events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("deleted_at", sa.DateTime, nullable=True),
    )
    op.create_index("workflows_created_idx", "workflows", ["created_at", "id"])
    op.create_table(
        "workflow_instances",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("terminated", sa.Boolean, nullable=False),
        sa.Column("terminated_at", sa.DateTime, nullable=True),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("variables", sa.JSON, nullable=False),
    )
    op.create_index("workflow_instances_created_idx", "workflow_instances", ["created_at", "id"])
    op.create_index("workflow_instances_workflow_idx", "workflow_instances", ["workflow_id"])
    op.create_index("workflow_instances_terminated_at_idx", "workflow_instances", ["terminated_at"])
    op.create_table(
        "workflow_instance_stage_statuses",
        sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), primary_key=True),
        sa.Column("stage", sa.Integer, primary_key=True),
        sa.Column("temporal_run_id", sa.String, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("terminated_at", sa.DateTime, nullable=True),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("input", sa.JSON, nullable=False),
    )
    op.create_table(
        "instance_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("consumed_by_stage", sa.Integer, nullable=True),
    )
    op.create_index("instance_events_pending_idx", "instance_events", ["instance_id", "consumed_by_stage"])


def downgrade() -> None:
    op.drop_table("instance_events")
    op.drop_table("workflow_instance_stage_statuses")
    op.drop_table("workflow_instances")
    op.drop_table("workflows")
