"""Objects (payments, accounts) each trigger has already fired for (Q-20, per trigger).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trigger_objects",
        sa.Column("trigger_id", sa.String, sa.ForeignKey("triggers.id"), primary_key=True),
        sa.Column("object_id", sa.String, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("trigger_objects")
