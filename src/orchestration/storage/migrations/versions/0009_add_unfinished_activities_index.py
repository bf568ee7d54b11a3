"""An index for the activities not finished, which `/metrics` counts at every scrape.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("stage_activities_unfinished_idx", "stage_activities", ["terminated_at"])


def downgrade() -> None:
    op.drop_index("stage_activities_unfinished_idx", "stage_activities")
