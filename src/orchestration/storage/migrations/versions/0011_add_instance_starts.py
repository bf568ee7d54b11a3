"""Instances to start, recorded by API-only servers with the instance's row and taken by workers.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_starts",
        sa.Column("instance_id", sa.String, primary_key=True),
        sa.Column("requested_at", sa.DateTime, nullable=False),
    )
    op.create_index("instance_starts_requested_idx", "instance_starts", ["requested_at"])


def downgrade() -> None:
    op.drop_index("instance_starts_requested_idx", "instance_starts")
    op.drop_table("instance_starts")
