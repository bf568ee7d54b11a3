"""The remote's error code of an activity's failed attempt, kept with its message: a run replays
its attempts from their activity's row (the code decides what the stage does with the failure).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stage_activities") as batch:
        batch.add_column(sa.Column("error_code", sa.String, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_activities") as batch:
        batch.drop_column("error_code")
